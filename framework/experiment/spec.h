// The experiment spec: what a researcher writes in YAML, as typed configs.
//
//   name: seed-lstm
//   include: [../presets/seed.yaml]   # base specs, deep-merged (later wins)
//   plugins: [build/libmy_attention.so]
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
#include "framework/model/families.h"
#include "framework/optim/optimizer.h"
#include "framework/optim/schedule.h"
#include "framework/registry/plugin_spec.h"

#include <optional>
#include <string>
#include <vector>

namespace attnlab::experiment {

template <class B>
using Plugin = config::PluginSpec<B>;

struct DataSection {
  Plugin<data::Dataset> dataset;
  std::string task;
  template <class V>
  void visit(V& v) {
    v.required("dataset", dataset).doc("where the data comes from");
    v("task", task).doc("the label column a single-task model (model.head) learns; empty: the dataset's first");
  }
};

struct ModelSection {
  std::int64_t embedding = 64;
  std::string positions = "none";
  std::string query = "none";
  std::vector<std::int64_t> side_categorical;
  std::int64_t side_embedding = 8;
  std::int64_t side_dense = 0;
  bool side_features = false;
  bool join_query = false;
  Plugin<model::Extractor> extractor{"lstm"};
  Plugin<model::Attention> attention{"seed_self"};
  Plugin<model::Pooling> pooling{"flatten"};
  Plugin<model::Head> head{"classification"};
  std::map<std::string, Plugin<model::Head>> tasks;
  Plugin<model::MultiTask> multitask{"shared_bottom"};
  Plugin<model::Weighting> weighting{"fixed"};
  template <class V>
  void visit(V& v) {
    v("embedding", embedding).min(1).doc("width of the item/token embedding");
    v("positions", positions).choices({"none", "learned", "sinusoidal"}).doc("position information added to the embeddings");
    v("query", query).choices({"none", "user", "target"})
        .doc("what attention variants that take a query receive: the user's embedding or the target item's");
    v("side_categorical", side_categorical).min(1)
        .doc("cardinality of each categorical side feature (user or context attributes), each embedded and joined to the pooled sequence");
    v("side_embedding", side_embedding).min(1).doc("embedding width of each categorical side feature");
    v("side_dense", side_dense).min(0).doc("number of dense side features joined to the pooled sequence");
    v("join_query", join_query)
        .doc("also join the query (user or candidate embedding) to the pooled sequence, as DIN does, so that every "
             "attention variant sees the candidate");
    v("side_features", side_features)
        .doc("join the dataset's own side features (categorical embedded, dense as is) to the pooled sequence; "
             "replaces side_categorical and side_dense");
    v("extractor", extractor).doc("sequence feature extractor");
    v("attention", attention).doc("attention over the extracted sequence");
    v("pooling", pooling).doc("sequence to vector");
    v("head", head).doc("the head of a single-task model: predictions and loss");
    v("tasks", tasks).doc("a multi-task model: one head per task name (replaces head; labels come per task)");
    v("multitask", multitask).doc("how the tasks share the pooled representation (with tasks)");
    v("weighting", weighting).doc("how the task losses become gradients (with tasks; tasks in name order)");
  }
};

struct TrainSection {
  int epochs = 10;
  std::int64_t batch_size = 32;
  Plugin<optim::Optimizer> optimizer{"adam"};
  Plugin<optim::LrSchedule> schedule{"constant"};
  double clip_norm = 0.0;
  std::int64_t seed = 0;
  int threads = 1;
  template <class V>
  void visit(V& v) {
    v("epochs", epochs).min(1).doc("passes over the training split");
    v("batch_size", batch_size).min(1).doc("sequences per step");
    v("optimizer", optimizer).doc("parameter update rule");
    v("schedule", schedule).doc("learning rate over the run");
    v("clip_norm", clip_norm).min(0).doc("clip gradients to this global norm (0: no clipping)");
    v("seed", seed).min(0).doc("seed of everything random in the trial");
    v("threads", threads).range(1, 1024).doc("oneDNN threads of the trial");
  }
};

struct RankingSection {
  std::string mode = "full";
  std::int64_t negatives = 100;
  std::string sampler = "uniform";
  std::int64_t seed = 0;
  template <class V>
  void visit(V& v) {
    v("mode", mode).choices({"full", "sampled"}).doc("rank the target among all items, or among sampled negatives");
    v("negatives", negatives).min(1).doc("sampled: negatives per target");
    v("sampler", sampler).choices({"uniform", "popularity"}).doc("sampled: how negatives are drawn");
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
  template <class V>
  void visit(V& v) {
    v("metrics", metrics).choices(eval::metric_names())
        .doc("metrics computed on the validation and test splits, for every task they apply to");
    v("ks", ks).min(1).doc("cut-offs of the ranking metrics (hr, ndcg, mrr, recall)");
    v("ranking", ranking).doc("the ranking protocol of next-item tasks");
    v("batch_size", batch_size).min(1).doc("sequences per evaluation batch (results do not depend on it)");
    v("select", select)
        .doc("validation figure that picks the best epoch and drives early stopping: 'loss' or a metric "
             "('ndcg@10', 'auc'; 'task/metric' for a multi-task model)");
    v("patience", patience).min(0).doc("stop after this many epochs without improvement of select (0: never stop early)");
  }
};

struct LogSection {
  std::string dir = "results";
  std::vector<int> attention_epochs;
  int probes = 8;
  bool checkpoint = true;
  template <class V>
  void visit(V& v) {
    v("dir", dir).doc("directory of the results (one HDF5 file per trial)");
    v("attention_epochs", attention_epochs).min(1).doc("epochs at which attention weights are logged (empty: the last)");
    v("probes", probes).min(0).doc("fixed probe samples whose attention weights are logged");
    v("checkpoint", checkpoint).doc("keep a checkpoint after every epoch so that an interrupted trial resumes where it stopped");
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
    v("plugins", plugins).doc("shared libraries of out-of-tree plugins to load (paths relative to the spec)");
    v("data", data).doc("the dataset");
    v("preprocess", preprocess).doc("preprocessing steps, applied in order");
    v("model", model).doc("the model, part by part");
    v("train", train).doc("training");
    v("eval", eval).doc("evaluation");
    v("log", log).doc("what is recorded");
  }
};

/// A spec after includes, overrides and (for one trial) the sweep: the raw tree, the typed spec
/// and the fully resolved config (every default filled in) with its hash.
struct ResolvedSpec {
  std::string base_dir;  ///< directory of the spec file: relative data paths are resolved against it
  config::Value raw;
  ExperimentSpec spec;
  config::Value resolved;
  std::string hash;
};

/// Loads `path` with includes, applies overrides, loads the `plugins:` libraries, and validates the
/// whole spec; a `sweep:` section is validated by expanding it. Throws config::ConfigError with
/// every problem. The returned raw tree still holds `sweep` (for `attnlab sweep`).
ResolvedSpec load_experiment(const std::string& path, const std::vector<std::string>& overrides);

/// Binds one trial's tree (no sweep section) into the typed spec; throws config::ConfigError.
ResolvedSpec resolve(const config::Value& tree);

}  // namespace attnlab::experiment
