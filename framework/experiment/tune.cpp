#include "framework/experiment/tune.h"

#include "framework/core/error.h"

#include <fmt/format.h>

#include <filesystem>

namespace attnlab::experiment {

namespace {

config::Value text(const std::string& s) { return config::Value::scalar(s, {}, true); }
config::Value number(double x) { return config::Value::scalar(config::format_number(x)); }

}  // namespace

std::string tune_plan(const ResolvedSpec& r, const TuneOptions& o) {
  if (!r.tune) throw Error(fmt::format("{}: no tune: block to run (docs/tune.md)", o.spec));
  const TuneSection& t = *r.tune;
  using config::Value;
  Value plan = Value::map();
  plan.set("spec", text(std::filesystem::absolute(o.spec).lexically_normal().string()));
  plan.set("hash", text(r.hash));  // the config every trial starts from: drivers of one study must agree
  Value overrides = Value::sequence();
  for (const auto& ov : o.overrides) overrides.push_back(text(ov));
  plan.set("overrides", std::move(overrides));
  Value flags = Value::sequence();
  for (const auto& f : o.run_flags) flags.push_back(text(f));
  plan.set("run_flags", std::move(flags));
  plan.set("attnlab", text(o.attnlab));
  plan.set("dir", text(std::filesystem::absolute(o.dir).lexically_normal().string()));
  plan.set("jobs", Value::scalar(std::to_string(o.jobs)));
  plan.set("threads", Value::scalar(std::to_string(o.threads)));
  plan.set("epochs", Value::scalar(std::to_string(r.spec.train.epochs)));
  plan.set("n_trials", Value::scalar(std::to_string(t.n_trials)));
  plan.set("sampler", text(t.sampler));
  plan.set("pruner", text(t.pruner.value_or("median")));
  plan.set("startup_trials", Value::scalar(std::to_string(t.startup_trials)));
  plan.set("warmup_epochs", Value::scalar(std::to_string(t.warmup_epochs)));
  plan.set("seed", Value::scalar(std::to_string(t.seed)));
  plan.set("timeout", t.timeout ? number(*t.timeout) : Value::null());
  // metric and direction: the first objective (what a one-objective driver reads); objectives: all.
  const TuneObjective first = t.objective.list.empty() ? TuneObjective{} : t.objective.list.front();
  plan.set("metric", text(first.metric.value_or("")));
  plan.set("direction", text(first.direction.value_or("")));
  Value objectives = Value::sequence();
  for (const auto& goal : t.objective.list) {
    Value one = Value::map();
    one.set("metric", text(goal.metric.value_or("")));
    one.set("direction", text(goal.direction.value_or("")));
    objectives.push_back(std::move(one));
  }
  plan.set("objectives", std::move(objectives));
  Value space = Value::map();
  for (const auto& [key, p] : t.space) {
    Value d = Value::map();
    d.set("kind", text(p.kind()));
    if (p.choice) {
      Value values = Value::sequence();
      for (const auto& c : *p.choice) values.push_back(text(config::canonical(c.value)));
      d.set("values", std::move(values));
    } else if (p.int_range) {
      d.set("low", Value::scalar(std::to_string(p.int_range->front())));
      d.set("high", Value::scalar(std::to_string(p.int_range->back())));
    } else {
      const auto& b = p.loguniform ? *p.loguniform : *p.uniform;
      d.set("low", number(b.front()));
      d.set("high", number(b.back()));
    }
    if (!p.when_key.empty()) {  // searched only when the choice `key` takes one of `values`
      Value when = Value::map();
      when.set("key", text(p.when_key));
      Value values = Value::sequence();
      for (const auto& c : p.when_choices) values.push_back(text(c));
      when.set("values", std::move(values));
      d.set("when", std::move(when));
    }
    space.set(key, std::move(d));
  }
  plan.set("space", std::move(space));
  return config::to_yaml(plan);
}

}  // namespace attnlab::experiment
