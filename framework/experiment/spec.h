// The experiment spec: what a researcher writes in YAML, as typed configs.
//
//   name: seed-lstm
//   include: [../presets/seed.yaml]   # base specs, deep-merged (later wins)
//   plugins: [build/libmy_attention.so]   # loaded only when trusted (plugin_trust.h)
//   data:     {dataset: {type: marker, seq_len: 30}}
//   preprocess: []                   # steps applied in order
//   model:    {embedding: 32, extractor: {type: lstm, hidden: 64}, attention: {type: seed_self},
//              pooling: {type: flatten}, head: {type: classification}}
//   train:    {epochs: 6, batch_size: 32, optimizer: {type: adam, lr: 2.0e-3}, schedule: {type: constant}}
//   eval:     {metrics: [accuracy]}
//   log:      {dir: results}
//   sweep:    {grid: {model.attention.type: [none, seed_self]}, seeds: [1, 2]}
//
// Loading a spec: load_spec() (include resolution), then command-line overrides, then the sweep
// expansion, then binding into ExperimentSpec: every problem of every stage is reported with
// file:line:col and dotted path, all at once, before anything runs.
#pragma once

#include "framework/config/binder.h"
#include "framework/data/dataset.h"
#include "framework/eval/metrics.h"
#include "framework/experiment/plugin_trust.h"
#include "framework/experiment/sweep.h"
#include "framework/model/families.h"
#include "framework/model/objective.h"
#include "framework/model/section.h"
#include "framework/optim/optimizer.h"
#include "framework/optim/schedule.h"
#include "framework/registry/plugin_spec.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnlab::experiment {

template <class B>
using Plugin = config::PluginSpec<B>;

struct DataSection {
  Plugin<data::Dataset> dataset;
  std::string task;
  std::optional<std::string> padding;  ///< absent: per batch when no step caps the length (trainer)
  template <class V>
  void visit(V& v) {
    v.required("dataset", dataset).doc("where the data comes from");
    v("task", task).doc("the label column a single-task model (model.head) learns; empty: the dataset's first");
    v("padding", padding)
        .choices({"dataset", "batch"})
        .doc(
            "pad histories to the data set's length (dataset) or each batch to its own longest (batch, rounded up "
            "to a multiple of 8: far less work when lengths vary; needs a model without fixed-length stages such as "
            "flatten pooling; per-position objectives keep the data set's length). Absent: batch when no "
            "preprocessing step caps the length and the model allows it, else dataset");
  }
};

using model::ModelSection;

struct TrainSection {
  int epochs = 10;
  std::int64_t batch_size = 32;
  Plugin<optim::Optimizer> optimizer{"adam"};
  Plugin<optim::LrSchedule> schedule{"constant"};
  Plugin<model::Objective> objective{"last"};
  double clip_norm = 0.0;
  std::int64_t seed = 0;
  template <class V>
  void visit(V& v) {
    v("epochs", epochs).min(1).doc("passes over the training split");
    v("batch_size", batch_size)
        .min(1)
        .doc("rows per step: examples, or whole sequences for objectives that train every position");
    v("optimizer", optimizer).doc("parameter update rule");
    v("schedule", schedule).doc("learning rate over the run");
    v("objective", objective)
        .doc(
            "what a training step learns from: one example per row (last), every position of each sequence "
            "(all_positions), "
            "or masked steps (cloze)");
    v("clip_norm", clip_norm).min(0).doc("clip gradients to this global norm (0: no clipping)");
    v("seed", seed).min(0).doc("seed of everything random in the trial");
  }
};

struct RankingSection {
  std::string mode = "full";
  std::int64_t negatives = 100;
  std::string sampler = "uniform";
  bool exclude_history = true;
  std::int64_t seed = 0;
  template <class V>
  void visit(V& v) {
    v("mode", mode).choices({"full", "sampled"}).doc("rank the target among all items, or among sampled negatives");
    v("negatives", negatives).min(1).doc("sampled: negatives per target");
    v("sampler", sampler).choices({"uniform", "popularity"}).doc("sampled: how negatives are drawn");
    v("exclude_history", exclude_history)
        .doc(
            "sampled: never draw an item of the example's own history as a negative (SASRec's and BERT4Rec's "
            "protocol)");
    v("seed", seed).min(0).doc("sampled: seed of the negatives (the same for every trial of a sweep)");
  }
};

struct EvalSection {
  std::vector<std::string> metrics{"accuracy", "logloss"};
  std::vector<std::int64_t> ks{5, 10, 20};
  RankingSection ranking;
  std::int64_t batch_size = 256;
  std::string select = "loss";
  int patience = 0;
  std::int64_t max_users = 0;
  bool test_curves = false;
  template <class V>
  void visit(V& v) {
    v("metrics", metrics)
        .choices(eval::metric_names())
        .doc("metrics computed on the validation and test splits, for every task they apply to");
    v("ks", ks).min(1).doc("cut-offs of the ranking metrics (hr, ndcg, mrr, recall)");
    v("ranking", ranking).doc("the ranking protocol of next-item tasks");
    v("batch_size", batch_size).min(1).doc("sequences per evaluation batch (results do not depend on it)");
    v("select", select)
        .doc(
            "validation figure that picks the best epoch and drives early stopping: 'loss' or a metric "
            "('ndcg@10', 'auc'; 'task/metric' for a multi-task model)");
    v("patience", patience)
        .min(0)
        .doc("stop after this many epochs without improvement of select (0: never stop early)");
    v("max_users", max_users)
        .min(0)
        .doc(
            "evaluate only the rows of a seeded sample of this many of each split's users (eval.ranking.seed; the same "
            "users "
            "for validation and test when both hold them, as leave-one-out's do; SASRec: 10000); 0: every row");
    v("test_curves", test_curves)
        .doc(
            "also evaluate the test split after every epoch (curves under /curves/test); the best epoch is still "
            "chosen on "
            "validation only");
  }
};

struct LogSection {
  std::string dir = "results";
  std::vector<int> attention_epochs;
  int probes = 8;
  bool checkpoint = true;
  template <class V>
  void visit(V& v) {
    v("dir", dir)
        .doc(
            "directory of the results (<dir>/<name>/<id>.h5); relative to the spec's directory when the spec writes "
            "it, "
            "like data paths; the default `results` is in the working directory");
    v("attention_epochs", attention_epochs)
        .min(1)
        .doc("epochs at which attention weights are logged (empty: the last)");
    v("probes", probes).min(0).doc("fixed probe samples whose attention weights are logged");
    v("checkpoint", checkpoint)
        .doc("keep a checkpoint after every epoch so that an interrupted trial resumes where it stopped");
  }
};

struct ExperimentSpec {
  std::string name = "experiment";
  std::string description;
  std::vector<std::string> plugins;
  DataSection data;
  std::vector<Plugin<data::Preprocess>> preprocess;
  ModelSection model;
  TrainSection train;
  EvalSection eval;
  LogSection log;
  template <class V>
  void visit(V& v) {
    v("name", name).doc("experiment name, used for the results directory");
    v("description", description).doc("free text stored with the results");
    v("plugins", plugins)
        .doc(
            "shared libraries of out-of-tree plugins to load (paths relative to the spec); one outside the spec's "
            "directory and the working directory needs --plugin or --allow-spec-plugins");
    v("data", data).doc("the dataset");
    v("preprocess", preprocess).doc("preprocessing steps, applied in order");
    v("model", model).doc("the model, part by part");
    v("train", train).doc("training");
    v("eval", eval).doc("evaluation");
    v("log", log).doc("what is recorded");
  }
};

/// A value bound as written, any shape (a tune choice may be a whole plugin node).
struct AnyValue {
  static constexpr const char* kTypeName = "any value";
  config::Value value;
};
void bind_value(const config::Value& v, const std::string& path, config::Problems& p, AnyValue& out);
config::Value to_value(const AnyValue& x);

/// One dimension of a tune search space: exactly one of its keys, like sweep.random's params
/// (one grammar): {loguniform: [lo, hi]}, {uniform: [lo, hi]}, {int: [lo, hi]} (inclusive),
/// {choice: [a, b, ...]} (any values, whole plugin nodes too); plus, for a conditional key,
/// `when: {KEY: [v, ...]}`: searched only in trials where KEY (a searched choice, or a key inside
/// one's values, such as model.extractor.type) takes one of the values.
struct TuneParam {
  std::optional<std::vector<double>> uniform, loguniform;
  std::optional<std::vector<std::int64_t>> int_range;
  std::optional<std::vector<AnyValue>> choice;
  std::optional<std::map<std::string, std::vector<AnyValue>>> when;
  /// load_experiment, for a conditional key: the searched choice it depends on, and (canonical
  /// YAML) those of its choices under which this key is searched.
  std::string when_key;
  std::vector<std::string> when_choices;
  template <class V>
  void visit(V& v) {
    v("loguniform", loguniform).doc("[low, high], 0 < low <= high: sampled on a log scale");
    v("uniform", uniform).doc("[low, high], low <= high");
    v("int", int_range).doc("[low, high], integers, both ends inclusive");
    v("choice", choice).doc("the values to choose from, as written (scalars, lists or whole plugin nodes)");
    v("when", when)
        .doc(
            "{KEY: [values]}: search this key only in trials where KEY takes one of the values; KEY is a searched "
            "choice or a key inside its values (model.extractor.type when model.extractor chooses plugin nodes)");
  }
  void check(config::FieldChecks& c) const;
  /// "loguniform", "uniform", "int" or "choice" (after a clean bind, exactly one is set).
  std::string kind() const;
};

/// What a tuning run optimises: a validation figure and its direction.
struct TuneObjective {
  std::optional<std::string> metric;
  std::optional<std::string> direction;
  template <class V>
  void visit(V& v) {
    v("metric", metric)
        .doc(
            "the validation figure to optimise, valid/<figure>: loss, or an eval.metrics entry (ranked ones with "
            "@k, k in eval.ks; 'task/...' for a multi-task model); absent: valid/<eval.select>");
    v("direction", direction)
        .choices({"maximize", "minimize"})
        .doc("absent: the figure's own direction (the metric table; loss is minimised)");
  }
};

/// `tune.objective`: one {metric, direction} map, or a list of them (several objectives: a Pareto
/// front). Bound from either shape; written back as a map when it holds one objective.
struct TuneObjectives {
  static constexpr const char* kTypeName = "objective map or list of objective maps";
  std::vector<TuneObjective> list;
};
void bind_value(const config::Value& v, const std::string& path, config::Problems& p, TuneObjectives& out);
config::Value to_value(const TuneObjectives& x);

/// The `tune:` block: a search (Optuna) over spec keys instead of a sweep's enumeration. Run by
/// `attnlab tune` (docs/tune.md); every trial is an ordinary `attnlab run` of the spec with the
/// sampled values as overrides.
struct TuneSection {
  int n_trials = 20;
  std::string sampler = "tpe";
  std::optional<std::string> pruner;  ///< load_experiment fills it: median, or none with several objectives
  int startup_trials = 5;
  int warmup_epochs = 0;
  std::int64_t seed = 0;
  std::optional<double> timeout;
  TuneObjectives objective;
  std::map<std::string, TuneParam> space;
  template <class V>
  void visit(V& v) {
    v("n_trials", n_trials).min(1).doc("trials of the study (finished and pruned ones count; a re-run adds none)");
    v("sampler", sampler)
        .choices({"tpe", "random", "grid", "cmaes"})
        .doc("how the next trial's values are chosen (cmaes: every dimension uniform, loguniform or int)");
    v("pruner", pruner)
        .choices({"median", "successive_halving", "hyperband", "none"})
        .doc("what stops a hopeless trial after an epoch; absent: median (none with several objectives)");
    v("startup_trials", startup_trials)
        .min(0)
        .doc("trials before TPE (or CMA-ES) models the space and before the median pruner prunes");
    v("warmup_epochs", warmup_epochs)
        .min(0)
        .doc("epochs a trial runs before it can be pruned (successive halving, Hyperband: their first rung)");
    v("seed", seed).min(0).doc("seed of the sampler");
    v("timeout", timeout)
        .doc("seconds: no trial starts once this run of attnlab tune has lasted this long (running trials finish)");
    v("objective", objective).doc("the figure optimised, or a list of figures (a Pareto front)");
    v.required("space", space).doc("dotted spec key -> {loguniform|uniform|int|choice: ..., when: ...}");
  }
  void check(config::FieldChecks& c) const;
};

struct ResolvedTrial;

/// A spec after includes, overrides and (for one trial) the sweep: the raw tree, the typed spec
/// and the fully resolved config (every default filled in) with its hash.
struct ResolvedSpec {
  std::string base_dir;  ///< directory of the spec file: relative data paths are resolved against it
  config::Value raw;
  ExperimentSpec spec;
  config::Value resolved;
  std::string hash;
  /// load_experiment: the plugin libraries loaded for the spec (--plugin first, then `plugins:`),
  /// each with its canonical path, where it is named and why it was trusted (plugin_trust.h).
  std::vector<PluginLibrary> libraries{};
  /// load_experiment: every trial of the spec's sweep (the spec itself without one), each resolved
  /// once, in expansion order. The runner, validate, the dry run and MPI ranks take them from here.
  std::vector<ResolvedTrial> trials;  // no `{}`: clang would need ResolvedTrial complete here
  /// load_experiment: the `tune:` block, bound and checked against the spec (absent without one).
  std::optional<TuneSection> tune{};
};

/// One trial of a sweep and its resolved spec (base_dir: the sweep spec's).
struct ResolvedTrial {
  Trial trial;
  ResolvedSpec spec;
};

/// Whether the sweep is what will run (`attnlab sweep`, `validate`: `key=a,b,c` on the command line
/// adds an axis, and overriding a swept key is a problem) or is left aside (`attnlab run`, one
/// trial from the spec without its sweep: a comma list is refused).
enum class Multirun { allow, refuse };

/// Loads the --plugin libraries of `trust`, loads `path` with includes, loads the `plugins:`
/// libraries that the trust rule lets it load (plugin_trust.h; a refused one is a problem at the
/// line that names it; a sweep axis over `plugins` is a problem), applies overrides with the schema
/// (spec_schema(): any key the schema knows can be set; `sweep.grid.a.b=[...]` is one axis named
/// a.b; `key=a,b,c` becomes a grid axis, in the order given, after the file's), and validates the
/// whole spec; a `sweep:` section is validated by expanding it. An override of a key that a sweep
/// axis also sets is a problem naming both. Throws config::ConfigError with every problem. The
/// returned raw tree still holds `sweep` (for `attnlab sweep`).
ResolvedSpec load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                             Multirun multirun = Multirun::allow, const PluginTrust& trust = {});

/// The experiment schema for overrides: every key of ExperimentSpec (defaults and absent optionals
/// included), the parameters of the plugin types a tree selects, and the sections of `sweep:`.
config::KeySchema spec_schema();

/// Binds one trial's tree (no sweep section) into the typed spec; throws config::ConfigError.
ResolvedSpec resolve(const config::Value& tree);

}  // namespace attnlab::experiment
