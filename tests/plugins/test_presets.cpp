// Every preset under experiments/presets, every trial of every sweep under experiments/zoo and the
// seed ablation load their real data through the trainer's pipeline (dataset + preprocess, relative
// paths from the spec's directory), build their model through the registry and train one step on a
// small batch: the shipped specs are runnable, not just valid YAML. (experiments/validation reads
// ../shared/data, which a user's machine does not have: not tested here.)
#include <boost/test/unit_test.hpp>

#include "framework/data/batcher.h"
#include "framework/data/pipeline.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "framework/experiment/trainer.h"
#include "framework/model/model.h"
#include "framework/optim/adam.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

using namespace attnlab;
using autograd::Var;
using core::Tensor;

namespace {

// Small generated data keeps the tests fast; the structure of every stage is the spec's. Only the
// synthetic dataset has these keys (file-backed datasets keep their size: MovieLens-small loads in
// about 0.3 s, the digits in 0.01 s).
const std::vector<std::string> kSmallSynthetic{"++data.dataset.sequences=64", "++data.dataset.train=48",
                                               "++data.dataset.valid=8", "++data.dataset.test=8"};

std::string dataset_type(const std::string& path) {
  return experiment::load_experiment(path, {}).spec.data.dataset.type;
}

std::vector<std::string> small_overrides(const std::string& path) {
  return dataset_type(path) == "synthetic" ? kSmallSynthetic : std::vector<std::string>{};
}

std::size_t train_one_step(const experiment::ResolvedSpec& resolved);

/// train_one_step, with anything it throws reported as a failure of the current context (so one
/// broken spec does not hide the others).
void check_one_step(const experiment::ResolvedSpec& resolved) {
  try {
    train_one_step(resolved);
  } catch (const std::exception& e) {
    BOOST_ERROR(e.what());
  }
}

/// Prepares the spec's data as the trainer does, builds its model for its training objective and
/// trains one Adam step on the first 4 training units of the objective's batches (examples, or
/// whole sequences), with the model input the batch carries. Checks that the losses are finite and
/// that parameters move. Returns the number of training examples.
std::size_t train_one_step(const experiment::ResolvedSpec& resolved) {
  const experiment::ExperimentSpec& spec = resolved.spec;
  core::Rng rng(3);
  core::Rng data_rng = rng.fork(1), model_rng = rng.fork(2);
  const data::PreparedData data = data::prepare_data(spec.data.dataset, spec.preprocess, data_rng, resolved.base_dir);
  const model::ModelDims dims = experiment::dims_for(spec, data);
  const std::vector<std::size_t> columns = experiment::label_columns(spec, data.examples);
  const auto objective = registry::create(spec.train.objective, model::Objective::Context{});
  model::Model model(spec.model, dims, model_rng, objective.get());
  model.train();
  const auto batches = objective->training_batches(
      data.examples, data.splits.train, {.seq_len = data.seq_len, .append_mask = false, .seen = model.wants_seen()}, 3);
  BOOST_TEST_REQUIRE(batches.units.size() >= 4u);
  const std::vector<std::int64_t> units(batches.units.begin(), batches.units.begin() + 4);
  const data::Batch b = batches.build(units, 1);
  std::vector<Tensor> labels;
  for (const auto c : columns) labels.push_back(b.labels.at(c));

  optim::Adam opt(model.params(), {.lr = 1e-2f});
  const auto before = model.state();
  const auto losses = model.train_losses(b.input(), labels);
  BOOST_TEST(losses.size() == std::max<std::size_t>(spec.model.tasks.size(), 1));
  for (const auto& l : losses) BOOST_TEST(std::isfinite(l.value().item()));
  model.backward(losses);
  opt.step();
  int changed = 0;
  for (const auto& [name, t] : model.state()) changed += std::memcmp(t.raw(), before.at(name).raw(), t.bytes()) != 0;
  bool trains = false;  // baseline heads (popularity, random) have nothing to train
  for (const auto& l : losses) trains = trains || l.requires_grad();
  BOOST_TEST((changed > 0) == trains);
  return data.splits.train.size();
}

std::vector<std::filesystem::path> specs_in(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(ATTNLAB_PROJECT_DIR) + "/experiments/" + dir))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// The plugins a model section names, as "family/type" (a multi-task model's heads, structure and
/// weighting; otherwise its single head).
void collect_plugins(const model::ModelSection& m, std::set<std::string>& used) {
  used.insert("extractor/" + m.extractor.type);
  used.insert("attention/" + m.attention.type);
  used.insert("pooling/" + m.pooling.type);
  if (m.tasks.empty()) {
    used.insert("head/" + m.head.type);
    return;
  }
  for (const auto& [name, head] : m.tasks) used.insert("head/" + head.type);
  used.insert("multitask/" + m.multitask.type);
  used.insert("weighting/" + m.weighting.type);
}

/// Trains every trial of a spec's sweep one step; returns how many, and adds the plugins they name.
std::size_t train_every_trial(const std::filesystem::path& path, std::set<std::string>* used = nullptr) {
  const auto r = experiment::load_experiment(path.string(), small_overrides(path.string()));
  std::size_t trials = 0;
  for (const auto& t : experiment::expand_sweep(r.raw, {})) {
    BOOST_TEST_CONTEXT(path.filename().string() << " trial " << t.index << ": " << t.label()) {
      auto trial = experiment::resolve(t.spec);
      trial.base_dir = r.base_dir;  // the trial's data paths are relative to the sweep's spec
      check_one_step(trial);
      if (used) collect_plugins(trial.spec.model, *used);
      ++trials;
    }
  }
  return trials;
}

// Presets whose inputs are token ids (items, words) and those whose inputs are dense steps (images:
// pixel rows, no item embedding) take different paths through the model: two cases.
void train_presets(bool dense_steps, int at_least) {
  int checked = 0;
  for (const auto& path : specs_in("presets")) {
    const std::string type = dataset_type(path.string());
    if ((type == "images") != dense_steps) continue;
    BOOST_TEST_CONTEXT(path.filename().string()) {
      BOOST_TEST(type != "marker");  // every preset runs on real or synthetic data
      check_one_step(experiment::load_experiment(path.string(), small_overrides(path.string())));
      ++checked;
    }
  }
  BOOST_TEST(checked >= at_least);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(presets)

BOOST_AUTO_TEST_CASE(every_preset_on_token_data_builds_and_trains_one_step) { train_presets(false, 12); }

BOOST_AUTO_TEST_CASE(every_preset_on_dense_step_data_builds_and_trains_one_step) { train_presets(true, 1); }

BOOST_AUTO_TEST_CASE(the_small_overrides_apply_to_synthetic_data_only) {
  const std::string dir = std::string(ATTNLAB_PROJECT_DIR) + "/experiments/presets/";
  // seed: synthetic, 64 sequences split 80/10/10 -> 51 training sequences (random_split rounds the
  // train and valid counts to the nearest: round(51.2) = 51, round(6.4) = 6, test the remaining 7).
  BOOST_TEST(train_one_step(experiment::load_experiment(dir + "seed.yaml", small_overrides(dir + "seed.yaml"))) == 51u);
  // sasrec: MovieLens-small, untouched: 100,004 ratings of 671 users, every user with >= 20, leave-one-out
  // -> one example per rating after each user's first: 100,004 - 671 = 99,333, of which 2 * 671 valid/test.
  BOOST_TEST(small_overrides(dir + "sasrec.yaml").empty());
  BOOST_TEST(train_one_step(experiment::load_experiment(dir + "sasrec.yaml", {})) == 99333u - 2u * 671u);
}

BOOST_AUTO_TEST_CASE(every_trial_of_every_zoo_sweep_builds_and_trains_one_step) {
  // The zoo's promise: every registered model plugin trains inside a real model. Derived from the
  // registry, so a new plugin needs a zoo trial, not an edited count.
  std::set<std::string> used;
  std::size_t trials = 0;
  for (const auto& path : specs_in("zoo")) trials += train_every_trial(path, &used);
  BOOST_TEST(trials > 0u);
  for (const char* family : {"extractor", "attention", "pooling", "head", "multitask", "weighting"}) {
    const registry::FamilyInfo* f = registry::find_family(family);
    BOOST_TEST_REQUIRE(f != nullptr, family);
    for (const auto& name : f->names())
      BOOST_TEST(used.count(std::string(family) + "/" + name) == 1u, family << "/" << name << " is in no zoo trial");
  }
}

BOOST_AUTO_TEST_CASE(every_reproduction_on_shipped_data_trains_every_trial_one_step) {
  // Reproductions on data outside the project (../shared/data: Amazon Games) are run by hand; those on
  // shipped data (MovieLens-small) are runnable here, every trial of their sweeps.
  std::size_t shipped = 0;
  for (const auto& path : specs_in("reproductions")) {
    const auto r = experiment::load_experiment(path.string(), {});
    const config::Value* file = r.spec.data.dataset.resolved.find("path");
    BOOST_TEST_REQUIRE(file != nullptr);
    const auto data = std::filesystem::weakly_canonical(std::filesystem::path(r.base_dir) / file->text()).string();
    if (!data.starts_with(std::filesystem::weakly_canonical(ATTNLAB_PROJECT_DIR).string() + "/")) continue;
    BOOST_TEST_CONTEXT(path.filename().string()) { BOOST_TEST(train_every_trial(path) > 0u); }
    ++shipped;
  }
  BOOST_TEST(shipped > 0u);
}

BOOST_AUTO_TEST_CASE(every_trial_of_the_seed_ablation_trains_one_step) {
  BOOST_TEST(train_every_trial(std::string(ATTNLAB_PROJECT_DIR) + "/experiments/seed_ablation.yaml") == 12u);
}

BOOST_AUTO_TEST_SUITE_END()
