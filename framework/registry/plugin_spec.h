// PluginSpec<Base>: a config field that selects and configures a plugin of Base's family.
//
//   struct ModelConfig {
//     PluginSpec<model::Attention> attention{"multihead"};   // default: multihead with its defaults
//     std::vector<PluginSpec<model::Head>> heads;
//     template <class V> void visit(V& v) {
//       v("attention", attention).doc("attention over the extracted sequence");
//       v("heads", heads).doc("one head per task");
//     }
//   };
//   ...
//   auto attention = registry::create(cfg.attention, {.dim = 64, .seq_len = 50, .rng = &rng});
//
// In YAML the field is a map with a `type` key and the plugin's own keys:
//   attention: {type: multihead, num_heads: 4}
// Binding (bind_value below) checks the whole plugin config through the registry, so problems carry
// the full path ("model.attention.num_heads: 0 must be >= 1") and all of them are reported at once:
//   - not a map:            "expected a map with a 'type' key, got scalar 'x'"
//   - no `type`:            the spec's default type is used when it has one; otherwise
//                           "missing required key 'type'; registered: a, b"
//   - an unknown type:      "unknown attention 'x'; did you mean 'y'? registered: a, b, c", at the
//                           type value's mark, path "<field>.type"
//   - the plugin's problems (unknown keys, wrong types, bounds) from its Config.
// A null node (`attention:` or `attention: null`) means the default type with its defaults.
// After binding, `resolved` is the plugin's full resolved config (`type` first, every field);
// a default-constructed spec keeps resolved null until resolve() or create() fills in defaults.
#pragma once

#include "framework/config/binder.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace attnlab::config {

namespace detail {
/// "<family> plugin" as a constant: plugin schemas are taken during static initialisation, when a
/// dynamically initialised static member might not be constructed yet.
template <class Base>
struct PluginTypeName {
  static constexpr std::string_view family = Base::kFamily, suffix = " plugin";
  static constexpr std::array<char, family.size() + suffix.size() + 1> text = [] {
    std::array<char, family.size() + suffix.size() + 1> a{};
    std::copy(family.begin(), family.end(), a.begin());
    std::copy(suffix.begin(), suffix.end(), a.begin() + static_cast<std::ptrdiff_t>(family.size()));
    return a;
  }();
};
}  // namespace detail

template <class Base>
struct PluginSpec {
  std::string type;  // the default (or bound) plugin name; empty: no default
  Value resolved;    // null until bound
  std::string path;  // where it was bound ("model.attention"), for errors its plugin reports later
  /// type_name<PluginSpec<B>>(): "attention plugin".
  static constexpr const char* kTypeName = detail::PluginTypeName<Base>::text.data();

  PluginSpec() = default;
  PluginSpec(std::string type_, Value resolved_ = {}) : type(std::move(type_)), resolved(std::move(resolved_)) {}
};

template <class Base>
void bind_value(const Value& v, const std::string& path, Problems& p, PluginSpec<Base>& out) {
  const auto& reg = registry::Registry<Base>::get();
  static const Value no_keys = Value::map();
  const Value& node = v.is_null() ? no_keys : v;
  if (!node.is_map()) {
    p.add(v.mark(), path, fmt::format("expected a map with a 'type' key, got {}", registry::describe_node(v)));
    return;
  }
  const Value* t = node.find("type");
  std::string type = out.type;
  if (t && !t->is_scalar()) {
    p.add(t->mark(), join_path(path, "type"), fmt::format("expected a {} name, got {}", Base::kFamily, t->kind_name()));
    return;
  }
  if (t) type = t->text();
  if (type.empty()) {
    p.add(v.mark(), path, reg.missing_type_message());
    return;
  }
  const auto* e = reg.find(type);
  if (!e) {
    p.add(t ? t->mark() : v.mark(), join_path(path, "type"), reg.unknown_message(type));
    return;
  }
  const std::size_t before = p.size();
  Value r = e->validate(node, path, p);
  if (p.size() != before) return;
  out.type = std::move(type);
  out.resolved = std::move(r);
  out.path = path;
}

/// The resolved config: `resolved` once bound; for an unbound spec, its default type's defaults
/// (or just {type: x} when that type is not registered); null without a type.
template <class Base>
Value resolve(const PluginSpec<Base>& s) {
  if (!s.resolved.is_null() || s.type.empty()) return s.resolved;
  Value node = Value::map();
  node.set("type", to_value(s.type));
  if (const auto* e = registry::Registry<Base>::get().find(s.type)) {
    Problems p;
    Value r = e->validate(node, "", p);
    if (p.empty()) return r;
  }
  return node;
}

/// The resolved config (what is stored with results).
template <class Base>
Value to_value(const PluginSpec<Base>& s) {
  return resolve(s);
}

/// Schema of a PluginSpec field: type "<family> plugin", its default type as the default. The
/// registered names are deliberately not listed as choices: a plugin's schema is taken when it
/// registers, during static initialisation, when its family's registry may still be incomplete;
/// help output lists them with registry::find_family(family)->names().
template <class Base>
void describe_schema(FieldInfo& f, const PluginSpec<Base>& s) {
  f.default_value = s.type;
}

}  // namespace attnlab::config

namespace attnlab::registry {

/// Builds the plugin a spec selects (its default type with defaults when never bound). Throws
/// PluginError when the type is empty or not registered, config::ConfigError when `resolved`
/// does not bind (a hand-built spec).
template <class Base>
std::unique_ptr<Base> create(const config::PluginSpec<Base>& spec, const typename Base::Context& ctx) {
  const auto& reg = Registry<Base>::get();
  if (spec.type.empty())
    throw PluginError(Base::kFamily, "", fmt::format("{} plugin: {}", Base::kFamily, reg.missing_type_message()));
  const auto* e = reg.find(spec.type);
  if (!e) throw PluginError(Base::kFamily, spec.type, reg.unknown_message(spec.type));
  try {
    return e->make(config::resolve(spec), ctx);
  } catch (const config::PathError& x) {
    // A rule across the plugin's fields (or with its input's shape): at the field's config path.
    throw config::PathError(config::join_path(spec.path, x.path()), x.message());
  }
}

}  // namespace attnlab::registry
