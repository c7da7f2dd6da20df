#include "framework/experiment/spec.h"

#include "framework/experiment/sweep.h"
#include "framework/registry/loader.h"

#include <filesystem>

namespace attnlab::experiment {

ResolvedSpec resolve(const config::Value& tree) {
  ResolvedSpec r;
  r.raw = tree;
  config::Problems p;
  config::bind(r.spec, tree, "", p, {"sweep"});
  p.check();
  r.resolved = config::to_value(r.spec);
  r.hash = config::hash(r.resolved);
  return r;
}

ResolvedSpec load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  config::Value tree = config::load_spec(path);

  // Every malformed override is reported, not only the first.
  std::vector<config::Override> parsed;
  config::Problems problems;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    try {
      parsed.push_back(config::parse_override(overrides[i], static_cast<int>(i + 1)));
    } catch (const config::ConfigError& e) {
      for (const auto& pr : e.problems()) problems.add(pr.mark, pr.path, pr.message);
    }
  }
  problems.check();
  config::apply_overrides(tree, parsed);

  // Out-of-tree plugins must be registered before the spec that names them is bound.
  if (const config::Value* libs = tree.find("plugins"); libs && libs->is_sequence()) {
    const auto base = std::filesystem::path(path).parent_path();
    for (std::size_t i = 0; i < libs->items().size(); ++i) {
      const config::Value& item = libs->items()[i];
      if (!item.is_scalar()) continue;  // the binder reports the type
      auto lib = std::filesystem::path(item.text());
      if (lib.is_relative()) lib = base / lib;
      try {
        registry::load_plugin_library(lib.string());
      } catch (const Error& e) {
        problems.add(item.mark(), fmt::format("plugins[{}]", i), e.what());
      }
    }
    problems.check();
  }

  config::Value base_tree = tree;
  base_tree.erase("sweep");
  ResolvedSpec r = resolve(base_tree);
  if (tree.find("sweep")) expand_sweep(tree, [](const config::Value& t) { return resolve(t).resolved; });
  r.raw = std::move(tree);
  r.base_dir = std::filesystem::absolute(path).parent_path().lexically_normal().string();
  return r;
}

}  // namespace attnlab::experiment
