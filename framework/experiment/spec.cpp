#include "framework/experiment/spec.h"

#include "framework/experiment/sweep.h"
#include "framework/registry/loader.h"

#include <filesystem>
#include <map>

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
  r.base_dir = std::filesystem::absolute(path).parent_path().lexically_normal().string();
  if (tree.find("sweep")) {
    // Each trial is resolved here, once (expansion validates it by resolving it); equal configs
    // share an id, so the id finds its resolved spec.
    std::map<std::string, ResolvedSpec> by_id;
    std::vector<Trial> trials = expand_sweep(tree, [&](const config::Value& t) {
      ResolvedSpec one = resolve(t);
      one.base_dir = r.base_dir;
      config::Value resolved = one.resolved;
      by_id.emplace(one.hash.substr(0, 12), std::move(one));
      return resolved;
    });
    for (auto& t : trials) {
      ResolvedSpec spec = by_id.at(t.id);
      r.trials.push_back({std::move(t), std::move(spec)});
    }
  } else {
    Trial t;
    t.spec = base_tree;
    t.id = r.hash.substr(0, 12);
    ResolvedSpec spec = r;
    r.trials.push_back({std::move(t), std::move(spec)});
  }
  r.raw = std::move(tree);
  return r;
}

}  // namespace attnlab::experiment
