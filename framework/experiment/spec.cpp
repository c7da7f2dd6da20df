#include "framework/experiment/spec.h"

#include "framework/experiment/sweep.h"
#include "framework/registry/loader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <tuple>

namespace attnlab::experiment {

namespace {

void add_absent(config::Value& node, const config::Schema& fields);

/// A plugin node's parameters, from its type's schema.
void add_plugin_fields(config::Value& node, std::string_view family) {
  const config::Value* t = node.is_map() ? node.find("type") : nullptr;
  const registry::FamilyInfo* fam = registry::find_family(family);
  if (!t || !t->is_scalar() || !fam) return;
  for (const auto& e : fam->entries())
    if (e.name == t->text()) return add_absent(node, e.schema);
}

/// Adds the keys `fields` has and `node` lacks (absent optionals, as null), recursively.
void add_absent(config::Value& node, const config::Schema& fields) {
  if (!node.is_map()) return;
  for (const auto& f : fields) {
    config::Value* x = node.find(f.name);
    if (!x) {
      node.set(f.name, config::Value::null());
      continue;
    }
    std::string_view type = f.type;
    const bool list = type.starts_with("list of ");
    const bool map = type.starts_with("map of ");
    if (list) type.remove_prefix(8);
    if (map) type.remove_prefix(7);
    const auto one = [&](config::Value& v) {
      if (type.ends_with(" plugin"))
        add_plugin_fields(v, type.substr(0, type.size() - 7));
      else if (!f.fields.empty())
        add_absent(v, f.fields);
    };
    if (list && x->is_sequence()) {
      for (auto& item : x->items()) one(item);
    } else if (map && x->is_map()) {
      for (auto& e : x->entries()) one(e.value);
    } else if (!list && !map) {
      one(*x);
    }
  }
}

/// Every key the schema has for `tree`: what the file writes, the defaults it does not, the
/// parameters of the plugin types it selects (a tree that does not bind still gives the keys of
/// the parts that do).
config::Value schema_tree(const config::Value& tree) {
  ExperimentSpec spec;
  config::Problems ignored;
  config::bind(spec, tree, "", ignored, {"sweep", "tune"});
  config::Value keys = config::to_value(spec);
  add_absent(keys, config::schema_of<ExperimentSpec>());
  return keys;
}

bool has_path(const config::Value& tree, const std::vector<std::string>& path) {
  const config::Value* cur = &tree;
  for (const auto& seg : path) {
    if (seg[0] == '[') {
      const auto i = std::stoull(seg.substr(1, seg.size() - 2));
      if (!cur->is_sequence() || i >= cur->items().size()) return false;
      cur = &cur->items()[i];
    } else {
      cur = cur->is_map() ? cur->find(seg) : nullptr;
      if (!cur) return false;
    }
  }
  return true;
}

void collect_keys(const config::Value& v, const std::string& prefix, std::vector<std::string>& out) {
  if (!v.is_map()) return;
  for (const auto& e : v.entries()) {
    const std::string key = config::join_path(prefix, e.key);
    out.push_back(key);
    collect_keys(e.value, key, out);
  }
}

/// The axis sections of `sweep:` whose keys are dotted spec keys.
// Whether `key` lies inside the searched choice `searched` (an unconditional choice): under its node
// (model.extractor.hidden under a choice of model.extractor) or beside a searched plugin type
// (model.attention.num_heads beside a choice of model.attention.type). Such a key exists for some of
// the choice's values only; check_tune resolves it under each.
bool inside_choice(config::KeyPath searched, const config::KeyPath& key) {
  if (!searched.ok() || !key.ok()) return false;
  if (searched.path.size() > 1 && searched.path.back() == "type") searched.path.pop_back();  // the plugin node
  return searched.path.size() < key.path.size() &&
         std::equal(searched.path.begin(), searched.path.end(), key.path.begin());
}

bool is_axis_section(const std::vector<std::string>& path, std::size_t& key_at) {
  if (path.size() < 2 || (path[0] != "sweep" && path[0] != "tune")) return false;
  if (path[1] == "grid" || path[1] == "zip") {
    key_at = 2;
    return true;
  }
  if (path[0] == "tune") {
    key_at = 2;
    return path[1] == "space";
  }
  if (path.size() >= 3 && path[1] == "random" && path[2] == "params") {
    key_at = 3;
    return true;
  }
  return false;
}

std::string strip_op(std::string_view key) {
  while (!key.empty() && key.front() == '+') key.remove_prefix(1);
  return std::string(key);
}

}  // namespace

void bind_value(const config::Value& v, const std::string&, config::Problems&, AnyValue& out) { out.value = v; }

config::Value to_value(const AnyValue& x) { return x.value; }

void bind_value(const config::Value& v, const std::string& path, config::Problems& p, TuneObjectives& out) {
  std::vector<TuneObjective> list;
  const std::size_t before = p.size();
  if (v.is_sequence()) {
    list.resize(v.items().size());
    for (std::size_t i = 0; i < list.size(); ++i)
      config::bind(list[i], v.items()[i], fmt::format("{}[{}]", path, i), p);
    if (list.empty()) p.add(v.mark(), path, "an empty list: name one objective or more (or leave objective out)");
  } else if (v.is_map() || v.is_null()) {
    config::bind(list.emplace_back(), v, path, p);
  } else {
    p.add(v.mark(), path,
          fmt::format("expected a {{metric, direction}} map or a list of them, got {} '{}'", v.kind_name(), v.text()));
  }
  if (p.size() == before) out.list = std::move(list);
}

config::Value to_value(const TuneObjectives& x) {
  if (x.list.size() == 1) return config::to_value(x.list.front());
  if (x.list.empty()) {  // the keys an override may set
    config::Value m = config::Value::map();
    m.set("metric", config::Value::null());
    m.set("direction", config::Value::null());
    return m;
  }
  return config::to_value(x.list);
}

std::string TuneParam::kind() const {
  if (loguniform) return "loguniform";
  if (uniform) return "uniform";
  if (int_range) return "int";
  return "choice";
}

void TuneParam::check(config::FieldChecks& c) const {
  const int set =
      int(loguniform.has_value()) + int(uniform.has_value()) + int(int_range.has_value()) + int(choice.has_value());
  if (set != 1) {
    c.fail(set == 0 ? "" : kind(), fmt::format("a search dimension takes exactly one of loguniform, uniform, int, "
                                               "choice; {} given",
                                               set));
    return;
  }
  const auto bounds = [&](const char* name, const auto& range) {
    if (range.size() != 2)
      return c.fail(name, fmt::format("takes [low, high], got {} value{}", range.size(), range.size() == 1 ? "" : "s"));
    const auto lo = range.front(), hi = range.back();  // int ranges compared as integers
    if (!std::isfinite(double(lo)) || !std::isfinite(double(hi))) return c.fail(name, "low and high must be finite");
    if (lo > hi) return c.fail(name, fmt::format("low {} > high {}", lo, hi));
    if (std::string_view(name) == "loguniform" && lo <= 0)
      c.fail(name, fmt::format("loguniform needs 0 < low, got low {}", lo));
  };
  if (loguniform) bounds("loguniform", *loguniform);
  if (uniform) bounds("uniform", *uniform);
  if (int_range) bounds("int", *int_range);
  if (choice && choice->empty()) c.fail("choice", "needs at least one value");
}

void TuneSection::check(config::FieldChecks& c) const {
  if (timeout && !(*timeout > 0)) c.fail("timeout", "seconds, more than 0 (leave it out for no limit)");
  if (sampler != "grid") return;
  for (const auto& [key, param] : space)
    if (param.kind() != "choice")
      return c.fail("sampler", fmt::format("the grid sampler needs every dimension to be a choice; tune.space.{} "
                                           "is {}",
                                           key, param.kind()));
}

config::KeySchema spec_schema() {
  config::KeySchema s;
  s.knows = [](const config::Value& root, const std::vector<std::string>& path) {
    if (path.empty()) return false;
    if (path[0] == "sweep") {
      static const std::vector<std::vector<std::string>> sections = {
          {"sweep"},           {"sweep", "seeds"},       {"sweep", "grid"},           {"sweep", "zip"},
          {"sweep", "random"}, {"sweep", "random", "n"}, {"sweep", "random", "seed"}, {"sweep", "random", "params"}};
      if (std::find(sections.begin(), sections.end(), path) != sections.end()) return true;
      std::size_t at = 0;
      if (!is_axis_section(path, at) || path.size() != at + 1) return false;
      const config::KeyPath k = config::parse_key(strip_op(path[at]));
      return k.ok() && has_path(schema_tree(root), k.path);
    }
    if (path[0] == "tune") {
      std::size_t at = 0;
      if (is_axis_section(path, at) && path.size() > at) {  // tune.space.<dotted spec key>.<kind>
        const config::KeyPath k = config::parse_key(path[at]);
        if (!k.ok()) return false;
        // A conditional key inside a searched choice (model.extractor.num_heads under a choice of
        // extractors) exists for some of its values only: check_tune checks it under each.
        const config::Value* tune = root.find("tune");
        const config::Value* space = tune && tune->is_map() ? tune->find("space") : nullptr;
        if (space && space->is_map())
          for (const auto& e : space->entries())
            if (e.value.is_map() && e.value.find("choice") && !e.value.find("when") &&
                inside_choice(config::parse_key(e.key), k))
              return true;
        return has_path(schema_tree(root), k.path);
      }
      config::Value keys = config::to_value(TuneSection{});
      add_absent(keys, config::schema_of<TuneSection>());
      config::Value root_keys = config::Value::map();
      root_keys.set("tune", std::move(keys));
      return has_path(root_keys, path);
    }
    return has_path(schema_tree(root), path);
  };
  s.keys = [](const config::Value& root) {
    std::vector<std::string> out;
    collect_keys(schema_tree(root), "", out);
    return out;
  };
  return s;
}

ResolvedSpec resolve(const config::Value& tree) {
  ResolvedSpec r;
  r.raw = tree;
  config::Problems p;
  config::bind(r.spec, tree, "", p, {"sweep"});
  if (!p.empty()) {
    // "unknown key" with the nearest key of the whole schema (train.lr -> train.optimizer.lr).
    std::optional<std::vector<std::string>> keys;
    for (auto& pr : p.list()) {
      if (pr.unknown_key.empty() || pr.message.find("did you mean") != std::string::npos) continue;
      if (!keys) keys = spec_schema().keys(tree);
      if (const auto near = config::nearest_key(pr.path, *keys)) {
        const auto semi = pr.message.find("; ");
        if (semi != std::string::npos) pr.message.insert(semi + 2, fmt::format("did you mean '{}'? ", *near));
      }
    }
  }
  p.check();
  r.resolved = config::to_value(r.spec);
  r.hash = config::hash(r.resolved);
  return r;
}

namespace {

/// Loads the libraries the command line gives (--plugin), in order; each is listed in `out`.
void load_command_line_libraries(const PluginTrust& trust, std::vector<PluginLibrary>& out) {
  for (const auto& named : trust.libraries) {
    PluginLibrary lib = judge_spec_library(named, {}, "--plugin", "", trust);
    registry::load_plugin_library(lib.path);  // throws attnlab::Error: nothing was named by a spec
    out.push_back(std::move(lib));
  }
}

/// Loads the `plugins:` libraries `tree` names (relative to the spec) that the trust rule
/// (plugin_trust.h) lets it load; a refused or failing library is a problem at its mark. Each
/// library is listed in `out` once per place that names it.
void load_plugin_libraries(const config::Value& tree, const std::string& path, const PluginTrust& trust,
                           std::vector<PluginLibrary>& out, config::Problems& problems) {
  const config::Value* libs = tree.find("plugins");
  if (!libs || !libs->is_sequence()) return;
  for (std::size_t i = 0; i < libs->items().size(); ++i) {
    const config::Value& item = libs->items()[i];
    if (!item.is_scalar()) continue;  // the binder reports the type
    const std::string key = fmt::format("plugins[{}]", i);
    PluginLibrary lib = judge_spec_library(item.text(), item.mark(), key, path, trust);
    const bool seen = std::any_of(out.begin(), out.end(), [&](const PluginLibrary& l) {
      return l.path == lib.path && l.mark.str() == lib.mark.str();
    });
    if (seen) continue;  // the second pass, after overrides
    if (!lib.trusted()) {
      problems.add(item.mark(), key, refusal_message(lib, path));
    } else {
      try {
        registry::load_plugin_library(lib.path);
      } catch (const Error& e) {
        problems.add(item.mark(), key, e.what());
      }
    }
    out.push_back(std::move(lib));
  }
}

/// One key a sweep axis sets, and where the axis is written.
struct AxisKey {
  std::vector<std::string> path;
  std::string where;  // "sweep.grid.train.seed"
  config::Mark mark;
};

std::vector<AxisKey> axis_keys(const config::Value& tree) {
  std::vector<AxisKey> out;
  const config::Value* sweep = tree.find("sweep");
  if (!sweep || !sweep->is_map()) return out;
  const auto section = [&](const config::Value* sec, const std::string& where) {
    if (!sec || !sec->is_map()) return;
    for (const auto& e : sec->entries()) {
      const config::KeyPath k = config::parse_key(strip_op(e.key));
      if (k.ok()) out.push_back({k.path, config::join_path(where, e.key), e.key_mark});
    }
  };
  section(sweep->find("grid"), "sweep.grid");
  section(sweep->find("zip"), "sweep.zip");
  if (const config::Value* random = sweep->find("random"); random && random->is_map())
    section(random->find("params"), "sweep.random.params");
  for (const auto& e : sweep->entries())
    if (e.key == "seeds") out.push_back({{"train", "seed"}, "sweep.seeds", e.key_mark});
  return out;
}

/// Where `key` is written in a map node (its own mark), or the node's mark.
config::Mark key_mark(const config::Value& map, std::string_view key) {
  if (map.is_map())
    for (const auto& e : map.entries())
      if (e.key == key) return e.key_mark;
  return map.mark();
}

/// The validation figures a trial of `e` computes, as far as the spec tells without its data:
/// loss and every eval.metrics entry, ranked ones once per eval.ks ("ndcg@10"). A multi-task model
/// writes them per task too ("click.auc", "click.loss").
std::vector<std::string> validation_figures(const EvalSection& e) {
  std::vector<std::string> out{"loss"};
  for (const auto& m : e.metrics) {
    const auto& table = eval::metric_table();
    const bool ranked = std::any_of(table.begin(), table.end(), [&](const auto& x) { return x.name == m && x.ranked; });
    if (!ranked) {
      out.push_back(m);
      continue;
    }
    for (const auto k : e.ks) out.push_back(fmt::format("{}@{}", m, k));
  }
  return out;
}

/// Checks the objectives (each a validation figure the trial computes, none twice), fills in the
/// default objective and directions, and the pruner (none with several objectives: Optuna cannot
/// prune them).
void check_objectives(TuneSection& tune, const config::Value& node, const ResolvedSpec& base,
                      config::Problems& problems) {
  const config::Value* written = node.find("objective");
  const bool listed = written && written->is_sequence();
  if (tune.objective.list.empty()) tune.objective.list.emplace_back();
  const std::vector<std::string> figures = validation_figures(base.spec.eval);
  std::vector<std::string> known;
  for (const auto& f : figures) known.push_back("valid/" + f);
  for (std::size_t i = 0; i < tune.objective.list.size(); ++i) {
    TuneObjective& o = tune.objective.list[i];
    const config::Value* at = listed ? (i < written->items().size() ? &written->items()[i] : nullptr) : written;
    const config::Mark mark = at ? key_mark(*at, "metric") : node.mark();
    const std::string path = listed ? fmt::format("tune.objective[{}].metric", i) : "tune.objective.metric";
    const std::string metric = o.metric.value_or("valid/" + base.spec.eval.select);
    const auto slash = metric.find('/');
    const std::string split = metric.substr(0, slash == std::string::npos ? 0 : slash);
    const std::string figure = slash == std::string::npos ? "" : metric.substr(slash + 1);
    if (o.metric && split == "test") {
      problems.add(mark, path,
                   fmt::format("tuning on the test split leaks it into the result (the study would pick the values "
                               "that suit the test data); tune on valid/{}",
                               figure));
    } else if (o.metric && (split != "valid" || figure.empty())) {
      problems.add(
          mark, path,
          fmt::format("an objective is a validation figure, valid/<figure> (valid/{}, ...)", base.spec.eval.select));
    } else if (o.metric) {
      // "click.auc": a task's figure (multi-task); the task names come with the data.
      const std::string bare = figure.substr(figure.find('.') == std::string::npos ? 0 : figure.rfind('.') + 1);
      if (std::find(figures.begin(), figures.end(), bare) == figures.end()) {
        const auto near = config::nearest(metric, known);
        problems.add(
            mark, path,
            fmt::format("'{}' is not a validation figure of this spec{}; the trials compute {} (eval.metrics, "
                        "eval.ks)",
                        metric, near ? fmt::format(" (did you mean '{}'?)", *near) : "", fmt::join(known, ", ")));
      }
    }
    for (std::size_t j = 0; j < i; ++j)
      if (tune.objective.list[j].metric == metric)
        problems.add(mark, path, fmt::format("{} is already objective {}: each figure once", metric, j));
    o.metric = metric;
    if (!o.direction) o.direction = eval::lower_is_better(figure) ? "minimize" : "maximize";
  }
  const bool several = tune.objective.list.size() > 1;
  if (several && tune.pruner && *tune.pruner != "none")
    problems.add(key_mark(node, "pruner"), "tune.pruner",
                 fmt::format("Optuna cannot prune a study of several objectives (a Pareto front has no median to "
                             "compare an epoch with); pruner: none, or one objective"));
  if (several && tune.sampler == "cmaes")
    problems.add(key_mark(node, "sampler"), "tune.sampler",
                 "CMA-ES optimises one objective; sampler: tpe (or random) searches for a Pareto front");
  if (!tune.pruner) tune.pruner = several ? "none" : "median";
}

/// The distribution's values to rehearse as written: each choice, or both ends of a range (null
/// when the node is malformed: the binder reports it).
const config::Value* rehearsed_values(const config::Value& dimension) {
  const config::Value* values = nullptr;
  int kinds = 0;
  for (const char* kind : {"loguniform", "uniform", "int", "choice"})
    if (const config::Value* v = dimension.is_map() ? dimension.find(kind) : nullptr) {
      values = v;
      ++kinds;
    }
  return kinds == 1 && values->is_sequence() ? values : nullptr;
}

/// Resolves `base_tree` with the overrides `sets` (key, value, where written); false with its
/// problems reported, each naming the values tried.
bool resolves_with(const config::Value& base_tree,
                   const std::vector<std::tuple<std::string, config::Value, config::Mark>>& sets,
                   const std::string& where, const config::KeySchema& schema, config::Problems& problems,
                   const std::string& hint = "") {
  config::Value tree = base_tree;
  std::vector<config::Override> ovs;
  std::string with;
  for (const auto& [key, value, mark] : sets) {
    config::Override ov;
    ov.path = config::parse_key(key).path;
    ov.value = value;
    ov.text = fmt::format("{}={}", key, config::canonical(value));
    ov.mark = mark;
    ovs.push_back(std::move(ov));
    with += fmt::format("{}tune.space.{} = {}", with.empty() ? "" : ", ", key, config::canonical(value));
  }
  try {
    config::apply_overrides(tree, ovs, &schema);
    resolve(tree);
  } catch (const config::ConfigError& err) {
    for (const auto& pr : err.problems())
      problems.add(pr.mark, pr.path.empty() ? where : pr.path, fmt::format("{} (with {}){}", pr.message, with, hint));
    return false;
  }
  return true;
}

/// A conditional key's `when:` checked against the space: one key, inside a searched
/// unconditional choice (or that choice itself), with values that some choice gives. Returns the
/// searched choice and, of its choices, those under which the key is searched (empty on a problem).
std::pair<std::string, std::vector<const AnyValue*>> check_condition(const std::string& key, const TuneParam& param,
                                                                     const TuneSection& tune,
                                                                     const config::Value& dimension,
                                                                     config::Problems& problems) {
  const std::string where = config::join_path("tune.space", key);
  const config::Value* when = dimension.find("when");
  const config::Mark mark = key_mark(dimension, "when");
  if (tune.sampler == "grid" || tune.sampler == "cmaes") {
    problems.add(mark, config::join_path(where, "when"),
                 fmt::format("the {} sampler needs a space of fixed dimensions; a conditional key needs sampler: tpe "
                             "(or random)",
                             tune.sampler));
    return {};
  }
  if (param.when->size() != 1) {
    problems.add(mark, config::join_path(where, "when"),
                 fmt::format("names one key (the choice it depends on), {} given", param.when->size()));
    return {};
  }
  const auto& [cond, values] = *param.when->begin();
  const std::string cond_where = config::join_path(config::join_path(where, "when"), cond);
  const config::Mark cond_mark = when ? key_mark(*when, cond) : mark;
  const config::KeyPath ck = config::parse_key(cond);
  std::vector<std::string> choices;  // the searched choices, for the hint
  for (const auto& [other, p] : tune.space) {
    const config::KeyPath ok = config::parse_key(other);
    if (other == key || !ok.ok() || !ck.ok()) continue;
    if (p.choice && !p.when) choices.push_back(other);
    if (ok.path.size() > ck.path.size() || !std::equal(ok.path.begin(), ok.path.end(), ck.path.begin())) continue;
    if (!p.choice || p.when) {
      problems.add(cond_mark, cond_where,
                   fmt::format("a condition names a choice that is always searched; tune.space.{} is {}", other,
                               p.when ? "conditional itself" : p.kind()));
      return {};
    }
    // The condition's value in each choice: the choice itself, or the key inside its node.
    const std::vector<std::string> rest(ck.path.begin() + static_cast<std::ptrdiff_t>(ok.path.size()), ck.path.end());
    std::vector<const AnyValue*> holding;
    std::vector<std::string> given;
    bool never = false;
    for (const auto& c : *p.choice) {
      const config::Value* v = &c.value;
      for (const auto& seg : rest) v = v && v->is_map() ? v->find(seg) : nullptr;
      const std::string text = v ? config::canonical(*v) : "null";
      if (std::find(given.begin(), given.end(), text) == given.end()) given.push_back(text);
      if (std::any_of(values.begin(), values.end(),
                      [&](const AnyValue& w) { return config::canonical(w.value) == text; }))
        holding.push_back(&c);
    }
    for (std::size_t i = 0; i < values.size(); ++i)
      if (std::find(given.begin(), given.end(), config::canonical(values[i].value)) == given.end() && (never = true))
        problems.add(cond_mark, fmt::format("{}[{}]", cond_where, i),
                     fmt::format("{} never holds: the choices of tune.space.{} give {} = {}",
                                 config::canonical(values[i].value), other, cond, fmt::join(given, " | ")));
    if (never || holding.empty()) return {};
    return {other, holding};
  }
  const auto near = config::nearest_key(cond, choices);
  problems.add(cond_mark, cond_where,
               fmt::format("'{}' is not searched: a condition names a choice of tune.space or a key inside its "
                           "values{}",
                           cond, near ? fmt::format(" (did you mean '{}'?)", *near) : ""));
  return {};
}

/// Checks a bound `tune:` block against the spec it tunes: every searched key is a key of the
/// spec's schema, and the spec resolves with each choice and with both ends of each range (so a
/// value that cannot bind is reported at the line that wrote it, before any trial runs); a
/// conditional key so under every choice its condition holds for. Fills in the objectives
/// (valid/<eval.select> when none is written), their directions and the pruner.
void check_tune(TuneSection& tune, const config::Value& node, const config::Value& base_tree, const ResolvedSpec& base,
                const config::KeySchema& schema, config::Problems& problems) {
  check_objectives(tune, node, base, problems);
  const config::Value* space = node.find("space");
  if (!space || !space->is_map()) return;
  for (const auto& e : space->entries()) {
    const std::string where = config::join_path("tune.space", e.key);
    const config::KeyPath k = config::parse_key(e.key);
    if (!k.ok()) {
      problems.add(e.key_mark, where, fmt::format("malformed key: {}", k.error));
      continue;
    }
    const auto param = tune.space.find(e.key);
    if (tune.sampler == "cmaes" && param != tune.space.end() && param->second.choice)
      problems.add(e.key_mark, where,
                   "CMA-ES samples ranges only (uniform, loguniform, int); a choice needs sampler: tpe (or random)");
    // From the node as written: a problem in one dimension leaves the others checked.
    const config::Value* values = rehearsed_values(e.value);
    if (!values) continue;
    if (param != tune.space.end() && param->second.when) {
      const auto [choice_key, branches] = check_condition(e.key, param->second, tune, e.value, problems);
      const config::Mark choice_mark = key_mark(*space, choice_key);
      param->second.when_key = choice_key;
      param->second.when_choices.clear();
      for (const AnyValue* branch : branches) param->second.when_choices.push_back(config::canonical(branch->value));
      for (const AnyValue* branch : branches)
        for (const auto& value : values->items())
          if (!resolves_with(base_tree, {{choice_key, branch->value, choice_mark}, {e.key, value, e.key_mark}}, where,
                             schema, problems))
            break;
      continue;
    }
    // A key inside a searched choice (model.extractor.hidden under a choice of extractors, or
    // model.attention.num_heads next to a choice of model.attention.type) is set after it in every
    // trial: it must resolve under each of its values.
    const TuneParam* within = nullptr;
    std::string within_key;
    for (const auto& [other, p] : tune.space) {
      if (other != e.key && p.choice && !p.when && inside_choice(config::parse_key(other), k) &&
          other.size() > within_key.size()) {
        within = &p;
        within_key = other;
      }
    }
    if (within) {
      const std::string hint = fmt::format(
          "; it is searched under every choice of tune.space.{} (when: limits it "
          "to some)",
          within_key);
      const config::Mark within_mark = key_mark(*space, within_key);
      bool ok = true;
      for (const AnyValue& c : *within->choice)
        for (const auto& value : values->items())
          if (ok)
            ok = resolves_with(base_tree, {{within_key, c.value, within_mark}, {e.key, value, e.key_mark}}, where,
                               schema, problems, hint);
      continue;
    }
    for (const auto& value : values->items())
      if (!resolves_with(base_tree, {{e.key, value, e.key_mark}}, where, schema, problems))
        break;  // the other values of this key would mostly repeat it
  }
}

/// True when one path is the other or lies inside it.
bool overlaps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::size_t n = std::min(a.size(), b.size());
  return std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
}

}  // namespace

ResolvedSpec load_experiment(const std::string& path, const std::vector<std::string>& overrides, Multirun multirun,
                             const PluginTrust& trust) {
  std::vector<PluginLibrary> libraries;
  load_command_line_libraries(trust, libraries);
  config::Value tree = config::load_spec(path);
  config::Problems problems;
  // Out-of-tree plugins must be registered before overrides consult the schema of their types.
  load_plugin_libraries(tree, path, trust, libraries, problems);
  problems.check();

  // Every malformed override is reported, not only the first.
  std::vector<config::Override> parsed, axes;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    try {
      parsed.push_back(config::parse_override(overrides[i], static_cast<int>(i + 1)));
    } catch (const config::ConfigError& e) {
      for (const auto& pr : e.problems()) problems.add(pr.mark, pr.path, pr.message);
    }
  }
  problems.check();

  const std::vector<AxisKey> file_axes = axis_keys(tree);
  std::vector<config::Override> plain;
  for (auto& ov : parsed) {
    // sweep.grid.model.attention.type=[...]: the rest of the key is one (dotted) axis name.
    if (std::size_t at = 0; is_axis_section(ov.path, at) && ov.path.size() > at + 1) {
      const std::vector<std::string> rest(ov.path.begin() + static_cast<std::ptrdiff_t>(at), ov.path.end());
      ov.path.resize(at);
      ov.path.push_back(config::dotted_key(rest));
    }
    if (ov.path[0] != "sweep" && multirun == Multirun::allow) {  // `run` leaves the sweep aside
      for (const auto& axis : file_axes) {
        if (!overlaps(ov.path, axis.path)) continue;
        problems.add(ov.mark, "",
                     fmt::format("override '{}' sets '{}', which the sweep axis {} ({}) also sets; drop one of them "
                                 "(~{} drops the axis; {}=a,b sweeps it from the command line)",
                                 ov.text, config::dotted_key(ov.path), axis.where, axis.mark.str(), axis.where,
                                 config::dotted_key(ov.path)));
      }
    }
    if (ov.choices.empty() || multirun == Multirun::refuse) {
      plain.push_back(std::move(ov));
      continue;
    }
    // key=a,b,c: one more grid axis (Hydra's multirun).
    const std::string key = config::dotted_key(ov.path);
    const std::string prefix = ov.op == config::Override::Op::add          ? "+"
                               : ov.op == config::Override::Op::set_or_add ? "++"
                                                                           : "";
    for (const auto& other : axes)
      if (overlaps(ov.path, config::parse_key(strip_op(other.path[2])).path))
        problems.add(ov.mark, "", fmt::format("override '{}' sweeps a key that '{}' sweeps too", ov.text, other.text));
    config::Override axis;
    axis.op = config::Override::Op::set_or_add;
    axis.path = {"sweep", "grid", prefix + key};
    axis.value = ov.value;
    axis.text = ov.text;
    axis.mark = ov.mark;
    axes.push_back(std::move(axis));
  }
  for (const auto& ov : plain)
    for (const auto& axis : axes)
      if (ov.path[0] != "sweep" && overlaps(ov.path, config::parse_key(strip_op(axis.path[2])).path))
        problems.add(ov.mark, "",
                     fmt::format("override '{}' sets a key that '{}' sweeps; drop one of them", ov.text, axis.text));
  problems.check();

  const config::KeySchema schema = spec_schema();
  config::apply_overrides(tree, plain, &schema);
  config::apply_overrides(tree, axes, &schema);
  // Libraries are loaded once, before any trial: a sweep cannot vary them (its trials share the process).
  for (const auto& axis : axis_keys(tree))
    if (axis.path[0] == "plugins")
      problems.add(axis.mark, axis.where,
                   "a sweep cannot vary plugins: the libraries are loaded once for every trial; list them all in "
                   "plugins:");
  load_plugin_libraries(tree, path, trust, libraries, problems);  // an override may name more
  problems.check();

  // tune: bound here, checked against the spec once the spec itself binds.
  std::optional<TuneSection> tune;
  config::Problems tune_problems;  // reported with the spec's own, once the spec binds
  const config::Value* tune_node = tree.find("tune");
  if (tune_node) {
    if (tree.find("sweep"))
      problems.add(key_mark(tree, "tune"), "tune",
                   "a spec has a sweep: (enumerate) or a tune: block (search), not both; drop one (~sweep or ~tune on "
                   "the command line)");
    tune.emplace();
    config::bind(*tune, *tune_node, "tune", tune_problems);
    for (const auto& ov : plain)
      if (ov.path[0] != "tune")
        for (const auto& [key, param] : tune->space)
          if (const auto k = config::parse_key(key); k.ok() && overlaps(ov.path, k.path))
            problems.add(
                ov.mark, "",
                fmt::format("override '{}' sets '{}', which tune.space searches; drop one of them", ov.text, key));
  }
  problems.check();

  config::Value base_tree = tree;
  base_tree.erase("sweep");
  base_tree.erase("tune");
  ResolvedSpec r;
  try {
    r = resolve(base_tree);
  } catch (const config::ConfigError& e) {
    for (const auto& pr : e.problems()) tune_problems.add(pr);
    tune_problems.check();
  }
  if (tune) {
    check_tune(*tune, *tune_node, base_tree, r, schema, tune_problems);
    tune_problems.check();
    r.tune = std::move(tune);
    tree.erase("tune");  // the trials (and `run`) never see it; ResolvedSpec::tune holds it
  }
  r.base_dir = std::filesystem::absolute(path).parent_path().lexically_normal().string();
  r.libraries = std::move(libraries);
  if (tree.find("sweep")) {
    // Each trial is resolved here, once (expansion validates it by resolving it); equal configs
    // share an id, so the id finds its resolved spec.
    std::map<std::string, ResolvedSpec> by_id;
    std::vector<Trial> trials = expand_sweep(
        tree,
        [&](const config::Value& t) {
          ResolvedSpec one = resolve(t);
          one.base_dir = r.base_dir;
          config::Value resolved = one.resolved;
          by_id.emplace(one.hash.substr(0, 12), std::move(one));
          return resolved;
        },
        &schema);
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
