// Spec files with `include:` (deep-merged in order, cycles refused) and merge().
#include "framework/config/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace attnlab::config {

namespace fs = std::filesystem;

// ---- includes ---------------------------------------------------------------------------------------

namespace {

struct IncludeFrame {
  std::string id;       // weakly canonical path, for cycle detection
  std::string display;  // relative to the root spec's folder, for the chain in messages
};

std::string display_path(const fs::path& p, const fs::path& root_dir) {
  if (root_dir.empty()) return p.string();
  fs::path rel = p.lexically_relative(root_dir);
  return rel.empty() ? p.string() : rel.string();
}

std::string chain_text(const std::vector<IncludeFrame>& chain, const std::string& last) {
  std::string s;
  for (const auto& f : chain) s += f.display + " -> ";
  return s + last;
}

Value load_spec_impl(const std::string& path, std::vector<IncludeFrame>& chain, const fs::path& root_dir) {
  Value doc = load_file(path);
  if (doc.is_null()) doc = Value::map(doc.mark());
  if (!doc.is_map()) return doc;
  const Value::Entry* inc = doc.find_entry("include");
  if (!inc) return doc;

  Problems problems;
  std::vector<std::pair<std::string, const Value*>> includes;  // (dotted path, scalar)
  const Value& iv = inc->value;
  if (iv.is_scalar()) {
    includes.emplace_back("include", &iv);
  } else if (iv.is_sequence()) {
    for (std::size_t i = 0; i < iv.items().size(); ++i) {
      const Value& item = iv.items()[i];
      const std::string ip = fmt::format("include[{}]", i);
      if (item.is_scalar())
        includes.emplace_back(ip, &item);
      else
        problems.add(item.mark(), ip, fmt::format("expected a path, got {}", item.kind_name()));
    }
  } else if (!iv.is_null()) {
    problems.add(iv.mark(), "include", fmt::format("expected a path or a list of paths, got {}", iv.kind_name()));
  }

  Value base = Value::map(doc.mark());
  const fs::path dir = fs::path(path).parent_path();
  for (const auto& [ipath, item] : includes) {
    const fs::path written(item->text());
    const fs::path resolved = (written.is_absolute() ? written : dir / written).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(resolved, ec)) {
      problems.add(item->mark(), ipath,
                   fs::is_directory(resolved, ec)
                       ? fmt::format("include '{}' is a directory, not a spec file (resolved to '{}')", item->text(),
                                     resolved.string())
                       : fmt::format("include '{}' not found (resolved to '{}')", item->text(), resolved.string()));
      continue;
    }
    const std::string id = fs::weakly_canonical(resolved, ec).string();
    const std::string shown = display_path(resolved, root_dir);
    if (std::any_of(chain.begin(), chain.end(), [&](const IncludeFrame& f) { return f.id == id; })) {
      problems.add(item->mark(), ipath, fmt::format("include cycle: {}", chain_text(chain, shown)));
      continue;
    }
    chain.push_back({id, shown});
    try {
      merge(base, load_spec_impl(resolved.string(), chain, root_dir));
    } catch (const ConfigError& e) {
      for (const auto& p : e.problems()) problems.add(p.mark, p.path, p.message);
    }
    chain.pop_back();
  }
  problems.check();
  doc.erase("include");
  merge(base, doc);
  return base;
}

}  // namespace

Value load_spec(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  std::error_code ec;
  std::vector<IncludeFrame> chain{{fs::weakly_canonical(p, ec).string(), p.filename().string()}};
  Value spec = load_spec_impl(path, chain, p.parent_path());
  if (spec.is_map() && spec.entries().empty())
    throw ConfigError({Problem{Mark{std::make_shared<const std::string>(path), 0, 0},
                               "",
                               "the file is empty (or comments only): a spec is a YAML map with name, data, model, "
                               "train, ... (see experiments/presets/seed.yaml)",
                               {}}});
  return spec;
}

namespace {

/// A plugin node's type text, or null when `v` is not a map with a scalar `type`.
const Value* plugin_type(const Value& v) {
  const Value* t = v.is_map() ? v.find("type") : nullptr;
  return t && t->is_scalar() ? t : nullptr;
}

}  // namespace

void merge(Value& base, const Value& over) {
  if (!base.is_map() || !over.is_map()) {
    base = over;
    return;
  }
  const Value* old_type = plugin_type(base);
  const Value* new_type = plugin_type(over);
  if (old_type && new_type && old_type->text() != new_type->text()) {
    base = over;  // another plugin: its parameters, not a mix of two plugins'
    return;
  }
  for (const auto& e : over.entries()) {
    if (Value* b = base.find(e.key)) {
      if (b->is_map() && e.value.is_map()) {
        merge(*b, e.value);
      } else {
        base.set(e.key, e.value, e.key_mark);
      }
    } else {
      base.entries().push_back(e);
    }
  }
}

}  // namespace attnlab::config
