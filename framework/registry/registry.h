// The plugin registry: one Registry<Base> per plugin family (Base is a family interface from
// framework/model/families.h, with its kFamily and Context), filled by self-registration.
//
// A plugin lives in plugins/<family>/<name>/ and ends its .cpp with one line:
//
//   ATTNLAB_REGISTER_PLUGIN(model::Attention, multihead, MultiHeadAttention, MultiHeadConfig,
//                           "scaled dot-product attention split over num_heads");
//
// `name` is an identifier (the plugin's directory name, and its `type:` in a spec); `Config` is a
// typed config with visit() (framework/config/binder.h); `Class` derives from Base and has a
// constructor Class(const Config&, const Base::Context&) that never sees YAML. The macro registers:
//   - schema:   schema_of<Config>() (help output, JSON for scripts);
//   - format:   Config::kFormat when the Config declares one (`static constexpr const char* kFormat`),
//               else "": the input a plugin expects (a dataset reader's file layout with example
//               lines), printed by `attnlab plugins <family>/<name>` under "format:";
//   - validate: binds the plugin's map (minus `type`) into a Config, collecting every problem with
//               its dotted path, and returns the *resolved* config: a map with `type` first, then
//               every field in declaration order (defaults filled in);
//   - make:     binds a resolved map into a Config and returns make_unique<Class>(cfg, ctx).
// A Config must not declare a field named `type`.
//
// Threading. Registries are written only during static initialisation (plugins compiled into the
// executable) and by explicit plugin loading (loader.h) before any trial starts; from then on they
// are read-only and are read without a lock by any number of threads.
//
// Shared libraries. get() is a function-local static in an inline function: the executable
// (linked with ENABLE_EXPORTS) exports it, and a plugin library loaded later binds to the
// executable's instance instead of its own, so its registrations land in the host's registry.
#pragma once

#include "framework/config/binder.h"
#include "framework/core/error.h"
#include "framework/core/suggest.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace attnlab::registry {

/// A registry misuse: a duplicate or empty plugin name, or an unknown plugin type. what() is the
/// full message (it names the family, the plugin and, for duplicates, both origins).
class PluginError : public Error {
 public:
  PluginError(std::string family, std::string name, const std::string& message)
      : Error(message), family_(std::move(family)), name_(std::move(name)) {}
  const std::string& family() const { return family_; }
  const std::string& name() const { return name_; }

 private:
  std::string family_, name_;
};

/// Binds a plugin's config node (a map, `type` included; the plugin's dotted path for messages)
/// and returns the resolved config. Problems go into the list; the result is then a null Value.
using ValidateFn = std::function<config::Value(const config::Value& node, const std::string& path, config::Problems&)>;

/// What help output knows of a plugin whatever its family.
struct EntryInfo {
  std::string name, summary, origin;
  config::Schema schema;
  ValidateFn validate;
  std::string format;  // Config::kFormat, or ""
};

/// "scalar 'x'", "list", "map" or "null" (for messages).
inline std::string describe_node(const config::Value& v) {
  return v.is_scalar() ? fmt::format("scalar '{}'", v.text()) : std::string(v.kind_name());
}

using core::join_names;

template <class Base>
class [[gnu::visibility("default")]] Registry {
 public:
  using Context = typename Base::Context;
  struct Entry {
    std::string name, summary;
    std::string origin;  // the registering source file (and library); shown when a name is duplicated
    config::Schema schema;
    ValidateFn validate;
    std::function<std::unique_ptr<Base>(const config::Value& resolved, const Context&)> make;
    std::string format;  // the expected input (Config::kFormat), or ""
  };

  /// The family's registry (one per process, shared with loaded plugin libraries).
  static Registry& get() {
    static Registry instance;
    return instance;
  }
  static const char* family() { return Base::kFamily; }
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers a plugin. Throws PluginError on an empty name, a missing validate/make, or a name
  /// already registered ("attention plugin 'x' is registered twice: by <origin> and by <origin>").
  void add(Entry e) {
    if (e.name.empty() || !e.validate || !e.make)
      throw PluginError(family(), e.name,
                        fmt::format("{} plugin '{}' (from {}): a registration needs a name, validate and make",
                                    family(), e.name, e.origin));
    if (const auto it = entries_.find(e.name); it != entries_.end())
      throw PluginError(family(), e.name,
                        fmt::format("{} plugin '{}' is registered twice: by {} and by {}", family(), e.name,
                                    it->second.origin, e.origin));
    std::string key = e.name;
    entries_.emplace(std::move(key), std::move(e));
  }

  /// The entry of this name, or nullptr.
  const Entry* find(std::string_view name) const {
    const auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  /// Registered names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> r;
    for (const auto& [name, e] : entries_) r.push_back(name);
    return r;
  }
  /// Entries sorted by name (pointers stay valid: entries are never removed).
  std::vector<const Entry*> entries() const {
    std::vector<const Entry*> r;
    for (const auto& [name, e] : entries_) r.push_back(&e);
    return r;
  }

  /// "unknown attention 'x'; did you mean 'y'? registered: a, b, c" (the hint only within edit distance 2).
  std::string unknown_message(std::string_view name) const {
    const auto all = names();
    const auto hint = core::nearest(name, all);
    return fmt::format("unknown {} '{}'; {}registered: {}", family(), name,
                       hint ? fmt::format("did you mean '{}'? ", *hint) : "", join_names(all));
  }
  /// "missing required key 'type'; registered: a, b".
  std::string missing_type_message() const {
    return fmt::format("missing required key 'type'; registered: {}", join_names(names()));
  }

  /// Builds the plugin named by node["type"] from its config `node` (a map; `path` is its dotted
  /// config path, for messages). Throws config::ConfigError with every problem when the node is
  /// not a map, lacks `type`, or its config does not bind (unknown keys, wrong types, out of
  /// range); PluginError "<mark>: <path>.type: unknown <family> 'x'; ... registered: ..." for an
  /// unknown type. Whatever Class's constructor throws (e.g. ShapeError on a bad Context) passes through.
  std::unique_ptr<Base> create(const config::Value& node, const Context& ctx, const std::string& path = "") const {
    config::Problems p;
    const config::Value* type = node.is_map() ? node.find("type") : nullptr;
    if (!node.is_map())
      p.add(node.mark(), path, fmt::format("expected a map with a 'type' key, got {}", describe_node(node)));
    else if (!type)
      p.add(node.mark(), path, missing_type_message());
    else if (!type->is_scalar())
      p.add(type->mark(), config::join_path(path, "type"),
            fmt::format("expected a {} name, got {}", family(), type->kind_name()));
    p.check();
    const Entry* e = find(type->text());
    if (!e)
      throw PluginError(
          family(), type->text(),
          config::Problem{type->mark(), config::join_path(path, "type"), unknown_message(type->text()), {}}.str());
    config::Value resolved = e->validate(node, path, p);
    p.check();
    return e->make(resolved, ctx);
  }

 private:
  Registry() = default;
  std::map<std::string, Entry, std::less<>> entries_;
};

// ---- the family index (help output) -------------------------------------------------------------

/// One plugin family, type-erased: its name and its entries (sorted by name), for `attnlab plugins`.
struct FamilyInfo {
  std::string name;
  std::function<std::vector<EntryInfo>()> entries;
  std::vector<std::string> names() const {
    std::vector<std::string> r;
    for (const auto& e : entries()) r.push_back(e.name);
    return r;
  }
};

template <class Base>
FamilyInfo family_info() {
  return {Base::kFamily, [] {
            std::vector<EntryInfo> r;
            for (const auto* e : Registry<Base>::get().entries())
              r.push_back({e->name, e->summary, e->origin, e->schema, e->validate, e->format});
            return r;
          }};
}

/// Every plugin family, in help order (extractor, attention, pooling, multitask, head, weighting,
/// then the data and training families). Defined in experiment/families.cpp, above the layers that
/// define the families' base classes; adding a family is one `family_info<Base>()` line there.
const std::vector<FamilyInfo>& families();
/// The family of this name, or nullptr.
const FamilyInfo* find_family(std::string_view name);

// ---- registration -----------------------------------------------------------------------------

namespace detail {

/// Set by the loader while a plugin library's static initialisers run: registrations then record
/// what they added and defer their errors (an exception must not cross dlopen).
struct LoadContext {
  std::string library;
  std::vector<std::pair<std::string, std::string>> added;  // (family, name)
  std::vector<std::string> errors;
};
[[gnu::visibility("default")]] inline LoadContext*& current_load() {
  static LoadContext* current = nullptr;
  return current;
}

template <class Base, class Class, class Config>
struct Registrar {
  static_assert(config::Visitable<Config>, "a plugin Config needs a template <class V> void visit(V&) member");
  static_assert(std::is_base_of_v<Base, Class>, "the plugin class must derive from its family's base class");
  static_assert(std::is_constructible_v<Class, const Config&, const typename Base::Context&>,
                "the plugin class needs a constructor (const Config&, const Base::Context&)");

  Registrar(const char* name, const char* summary, const char* file) {
    typename Registry<Base>::Entry e;
    e.name = name;
    e.summary = summary;
    e.origin = file;
    e.schema = config::schema_of<Config>();
    if constexpr (requires { Config::kFormat; }) {
      static_assert(std::is_convertible_v<decltype(Config::kFormat), std::string_view>,
                    "a Config's kFormat is a string: static constexpr const char* kFormat = \"...\";");
      e.format = Config::kFormat;
    }
    e.validate = [type = std::string(name)](const config::Value& node, const std::string& path, config::Problems& p) {
      Config cfg{};
      const std::size_t before = p.size();
      config::bind(cfg, node, path, p, {"type"});
      if (p.size() != before) return config::Value::null();
      config::Value out = config::Value::map();
      out.set("type", config::to_value(type));
      config::Value fields = config::to_value(cfg);
      for (auto& f : fields.entries()) out.set(std::move(f.key), std::move(f.value));
      return out;
    };
    e.make = [](const config::Value& resolved, const typename Base::Context& ctx) -> std::unique_ptr<Base> {
      Config cfg{};
      config::Problems p;
      config::bind(cfg, resolved, "", p, {"type"});
      p.check();
      return std::make_unique<Class>(cfg, ctx);
    };
    LoadContext* load = current_load();
    if (!load) {
      Registry<Base>::get().add(std::move(e));  // compiled in: a duplicate stops the program at start-up
      return;
    }
    e.origin += " (" + load->library + ")";
    try {
      Registry<Base>::get().add(std::move(e));
      load->added.emplace_back(Base::kFamily, name);
    } catch (const std::exception& x) {
      load->errors.emplace_back(x.what());
    }
  }
};

}  // namespace detail
}  // namespace attnlab::registry

#define ATTNLAB_REGISTRY_CONCAT_(a, b) a##b
#define ATTNLAB_REGISTRY_CONCAT(a, b) ATTNLAB_REGISTRY_CONCAT_(a, b)

/// Registers plugin `name` (an identifier) of family `Base`: see the top of this file. One line at
/// namespace scope at the end of the plugin's .cpp, followed by a semicolon.
#define ATTNLAB_REGISTER_PLUGIN(Base, name, Class, Config, summary)                                                  \
  [[maybe_unused]] static const ::attnlab::registry::detail::Registrar<Base, Class, Config> ATTNLAB_REGISTRY_CONCAT( \
      attnlab_registrar_, __LINE__)(#name, summary, __FILE__)
