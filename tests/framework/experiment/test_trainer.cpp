// The trainer end to end on tiny generated data: the trial file it leaves (read back with the
// store's reader), exact resume after an interruption, bitwise determinism, and failures (NaN,
// bad data, a task the data lacks) recorded in the file instead of thrown.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/core/rng.h"
#include "framework/experiment/runner.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/trainer.h"
#include "framework/store/checkpoint.h"
#include "framework/store/trial.h"
#include "tests/support/temp_dir.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace attnlab::experiment {
namespace {

namespace fs = std::filesystem;

const char* kSpec = R"(name: tiny
data:
  task: topic
  dataset: {type: synthetic, num_items: 40, num_topics: 4, num_users: 10, seq_len: 8, informative: 2, sequences: 300}
model:
  embedding: 8
  extractor: {type: lstm, hidden: 8}
  attention: {type: seed_self}
  pooling: {type: mean}
  head: {type: classification}
train: {epochs: 3, batch_size: 16, optimizer: {type: adam, lr: 0.01}, seed: 7}
eval: {metrics: [accuracy, logloss], select: accuracy}
log: {probes: 4, attention_epochs: [1, 3]}
)";

struct Dir : testing::TempDir {
  Dir() : TempDir("trainer") {}
};

TrialPlan plan_for(const std::string& extra, const fs::path& out) {
  config::Value tree = config::parse(std::string(kSpec) + extra, "tiny.yaml");
  TrialPlan plan;
  plan.spec = resolve(tree);
  plan.id = plan.spec.hash.substr(0, 12);
  plan.out_dir = out.string();
  plan.threads = 1;
  return plan;
}

std::map<std::string, std::map<std::string, double>> finals_of(const fs::path& file) {
  return store::TrialReader(file).finals();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trainer)

BOOST_AUTO_TEST_CASE(a_trial_file_holds_config_curves_finals_attention_and_timing) {
  Dir d;
  const TrialPlan plan = plan_for("", d.path);
  const TrialOutcome out = run_trial(plan);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  BOOST_TEST(!fs::exists(store::checkpoint_path(d.path, plan.id)));  // removed once the trial is done
  const store::TrialReader r(store::trial_path(d.path, plan.id));
  BOOST_TEST((r.state() == store::TrialState::done));
  BOOST_TEST(r.config_hash() == plan.spec.hash);
  BOOST_TEST(r.config_yaml().find("seed_self") != std::string::npos);
  const auto env = r.env();
  for (const char* k : {"attnlab_version", "attnlab_commit", "onednn", "tbb", "hdf5", "cpu", "host", "threads", "seed"})
    BOOST_TEST(env.count(k) == 1u, k);
  BOOST_TEST(r.epochs() == (std::vector<std::int64_t>{1, 2, 3}), boost::test_tools::per_element());
  const auto loss = r.curve("train", "loss");
  BOOST_REQUIRE(loss.size() == 3u);
  BOOST_TEST(loss[2] < loss[0]);  // it learns
  BOOST_TEST(r.curve("valid", "accuracy").size() == 3u);
  const auto finals = r.finals();
  BOOST_TEST(finals.at("test").count("accuracy") == 1u);
  BOOST_TEST(finals.at("valid").count("logloss") == 1u);
  BOOST_TEST(finals.at("test").at("accuracy") == out.final.at("test/accuracy"));
  BOOST_TEST(finals.at("test").at("accuracy") > 0.25);  // 4 topics: better than chance after 3 epochs
  BOOST_TEST(r.attention_epochs("attention") == (std::vector<std::int64_t>{1, 3}), boost::test_tools::per_element());
  const core::Tensor w = r.attention("attention", 3);
  BOOST_TEST(w.shape() == (core::Shape{4, 8, 8}));  // 4 probes, seed_self: [queries, keys]
  const auto probe = r.attention_probe();
  BOOST_TEST(probe.at("ids").shape() == (core::Shape{4, 8}));
  BOOST_TEST(probe.at("truth_offsets").shape() == (core::Shape{5}));
  BOOST_TEST(probe.at("truth").numel() == 4 * 2);  // 2 informative positions per probe
  const auto data = r.data();
  BOOST_TEST(!data.protocol.empty());
  BOOST_TEST(data.split_sizes.size() == 3u);
  const auto timing = r.timing();
  BOOST_TEST(timing.epochs.size() == 3u);
  BOOST_TEST(timing.samples_per_second > 0);
  BOOST_TEST(timing.peak_rss_bytes > 0);
  BOOST_TEST(timing.peak_rss_scope == "process");  // the plan does not say it ran alone
  BOOST_TEST(timing.peak_tensor_bytes > 0);
  BOOST_TEST(timing.epochs_run == 3);
  BOOST_TEST((timing.best_epoch >= 1 && timing.best_epoch <= 3), timing.best_epoch);
}

// The caching allocator's promise: once the first epoch has filled the cache, a training step takes
// no memory from the OS, so it faults no page in. Counted for the process, hence only when the
// trial runs alone; otherwise the figure is NaN (not measured), never another trial's.
BOOST_AUTO_TEST_CASE(a_steady_state_training_step_faults_in_no_page) {
  Dir d;
  TrialPlan plan = plan_for("", d.path);
  plan.alone = true;
  BOOST_REQUIRE(run_trial(plan).status == TrialOutcome::Status::kDone);
  const auto faults = store::TrialReader(store::trial_path(d.path, plan.id)).timing().epoch_faults_per_step;
  BOOST_REQUIRE(faults.size() == 3u);
  BOOST_TEST(faults[0] >= 0.0);
  BOOST_TEST(faults[2] < 1.0);  // an allocation per step reaching the OS would fault every step

  Dir shared;
  TrialPlan beside = plan_for("", shared.path);
  beside.alone = false;
  BOOST_REQUIRE(run_trial(beside).status == TrialOutcome::Status::kDone);
  for (double f : store::TrialReader(store::trial_path(shared.path, beside.id)).timing().epoch_faults_per_step)
    BOOST_TEST(std::isnan(f));
}

BOOST_AUTO_TEST_CASE(same_spec_same_seed_gives_bitwise_identical_results) {
  Dir a, b;
  const auto plan_a = plan_for("", a.path), plan_b = plan_for("", b.path);
  BOOST_REQUIRE(run_trial(plan_a).status == TrialOutcome::Status::kDone);
  BOOST_REQUIRE(run_trial(plan_b).status == TrialOutcome::Status::kDone);
  const store::TrialReader ra(store::trial_path(a.path, plan_a.id)), rb(store::trial_path(b.path, plan_b.id));
  BOOST_TEST(ra.finals() == rb.finals());
  for (const char* c : {"loss", "lr"})
    BOOST_TEST(ra.curve("train", c) == rb.curve("train", c), boost::test_tools::per_element());
  const core::Tensor wa = ra.attention("attention", 3), wb = rb.attention("attention", 3);
  BOOST_TEST(std::memcmp(wa.raw(), wb.raw(), wa.bytes()) == 0);
}

BOOST_AUTO_TEST_CASE(the_progress_file_carries_every_validation_curve) {
  // attnlab tune prunes on its objective's own curve, which need not be eval.select's.
  Dir d;
  const TrialPlan plan = plan_for("", d.path);
  BOOST_REQUIRE(run_trial(plan).status == TrialOutcome::Status::kDone);
  std::ifstream in(store::progress_path(d.path, plan.id));
  std::stringstream text;
  text << in.rdbuf();
  const config::Value progress = config::parse(text.str(), "progress.yaml");
  const config::Value* curves = progress.find("curves");
  BOOST_REQUIRE(curves && curves->is_map());
  std::set<std::string> want, got;
  for (const auto& [key, values] : store::TrialReader(store::trial_path(d.path, plan.id)).series())
    if (key.starts_with("curves/valid/")) want.insert(key.substr(13));
  BOOST_TEST(want.size() >= 2u);  // loss and a metric at least
  for (const auto& e : curves->entries()) {
    got.insert(e.key);
    const auto curve = store::TrialReader(store::trial_path(d.path, plan.id)).curve("valid", e.key);
    BOOST_REQUIRE(e.value.items().size() == curve.size());
    for (std::size_t i = 0; i < curve.size(); ++i)
      BOOST_TEST(std::stod(e.value.items()[i].text()) == curve[i], boost::test_tools::tolerance(1e-12));
  }
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_interrupted_trial_resumes_from_its_checkpoint_bitwise) {
  Dir whole, cut;
  const auto reference = plan_for("", whole.path);
  BOOST_REQUIRE(run_trial(reference).status == TrialOutcome::Status::kDone);

  TrialPlan plan = plan_for("", cut.path);
  std::atomic<bool> stop{false};
  plan.stop = &stop;
  plan.progress = [&](const TrialProgress& p) {
    if (p.epoch == 3 && p.phase == "train") stop = true;  // interrupt during the third epoch
  };
  const TrialOutcome first = run_trial(plan);
  BOOST_REQUIRE(first.status == TrialOutcome::Status::kStopped);
  BOOST_TEST(fs::exists(store::checkpoint_path(cut.path, plan.id)));
  BOOST_TEST(!fs::exists(store::trial_path(cut.path, plan.id)));  // no result file for an unfinished trial
  BOOST_TEST(store::load_checkpoint(store::checkpoint_path(cut.path, plan.id)).epoch == 2);

  stop = false;
  plan.progress = {};
  const TrialOutcome second = run_trial(plan);
  BOOST_REQUIRE_MESSAGE(second.status == TrialOutcome::Status::kDone, second.message);
  BOOST_TEST(second.resumed_from_epoch == 2);
  BOOST_TEST(finals_of(store::trial_path(cut.path, plan.id)) == finals_of(store::trial_path(whole.path, reference.id)));
  const store::TrialReader rc(store::trial_path(cut.path, plan.id)), rw(store::trial_path(whole.path, reference.id));
  BOOST_TEST(rc.curve("train", "loss") == rw.curve("train", "loss"), boost::test_tools::per_element());
  BOOST_TEST(rc.curve("valid", "accuracy") == rw.curve("valid", "accuracy"), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_diverging_trial_fails_naming_epoch_and_step_and_keeps_its_file) {
  Dir d;
  TrialPlan bad = plan_for("", d.path);
  config::Value tree = config::parse(std::string(kSpec), "tiny.yaml");
  config::apply_overrides(tree, {config::parse_override("train.optimizer={type: sgd, lr: 1.0e+38}", 1)});
  bad.spec = resolve(tree);
  bad.id = bad.spec.hash.substr(0, 12);
  const TrialOutcome out = run_trial(bad);
  BOOST_TEST((out.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(out.message.find("epoch 1 step") != std::string::npos, out.message);
  const bool names_value = out.message.find("nan") != std::string::npos ||
                           out.message.find("inf") != std::string::npos ||
                           out.message.find("NaN") != std::string::npos || out.message.find("Inf") != std::string::npos;
  BOOST_TEST(names_value, out.message);
  const store::TrialReader r(store::trial_path(d.path, bad.id));
  BOOST_TEST((r.state() == store::TrialState::failed));
  BOOST_TEST(r.message() == out.message);
}

BOOST_AUTO_TEST_CASE(data_problems_fail_the_trial_with_a_clear_message) {
  Dir d;
  // A task the data does not have: the message lists the label columns that exist.
  TrialPlan p = plan_for("", d.path);
  config::Value tree = config::parse(std::string(kSpec), "tiny.yaml");
  config::apply_overrides(tree, {config::parse_override("data.task=income", 1)});
  p.spec = resolve(tree);
  p.id = p.spec.hash.substr(0, 12);
  TrialOutcome out = run_trial(p);
  BOOST_TEST((out.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(out.message.find("no label column 'income'") != std::string::npos, out.message);
  BOOST_TEST(out.message.find("topic") != std::string::npos, out.message);
  // A missing data file: the message names it.
  tree = config::parse(std::string(kSpec), "tiny.yaml");
  config::apply_overrides(tree,
                          {config::parse_override("data.dataset={type: interactions, path: no/such/file.csv}", 1)});
  p.spec = resolve(tree);
  p.id = p.spec.hash.substr(0, 12);
  out = run_trial(p);
  BOOST_TEST((out.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(out.message.find("no/such/file.csv") != std::string::npos, out.message);
  BOOST_TEST((store::TrialReader(store::trial_path(d.path, p.id)).state() == store::TrialState::failed));
}

// A sweep may share one metric list across kinds of task; a metric that fits no task of a trial is
// not silently dropped: the trial's data report says so.
BOOST_AUTO_TEST_CASE(a_metric_that_fits_no_task_is_noted_in_the_report) {
  Dir d;
  TrialPlan p = plan_for("", d.path);
  config::Value tree = config::parse(std::string(kSpec), "tiny.yaml");
  config::apply_overrides(
      tree, {config::parse_override("eval.metrics=[accuracy, rmse]", 1), config::parse_override("train.epochs=1", 2)});
  p.spec = resolve(tree);
  p.id = p.spec.hash.substr(0, 12);
  const TrialOutcome out = run_trial(p);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  BOOST_TEST(out.final.count("test/accuracy") == 1u);
  BOOST_TEST(out.final.count("test/rmse") == 0u);
  const auto report = store::TrialReader(store::trial_path(d.path, p.id)).data().report;
  const bool noted = std::any_of(report.begin(), report.end(), [](const std::string& l) {
    return l.find("'rmse' is not reported: it applies to value labels") != std::string::npos;
  });
  BOOST_TEST(noted);
}

BOOST_AUTO_TEST_CASE(a_multi_task_trial_records_every_task) {
  Dir d;
  TrialPlan p = plan_for("", d.path);
  config::Value tree = config::parse(std::string(kSpec), "tiny.yaml");
  config::apply_overrides(
      tree, {config::parse_override("~data.task", 1), config::parse_override("~model.head", 2),
             config::parse_override("+model.tasks={click: {type: binary}, rating: {type: regression}}", 3),
             config::parse_override("++model.query=target", 4), config::parse_override("eval.metrics=[auc, rmse]", 5),
             config::parse_override("eval.select=click.auc", 6)});
  p.spec = resolve(tree);
  p.id = p.spec.hash.substr(0, 12);
  const TrialOutcome out = run_trial(p);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  const store::TrialReader r(store::trial_path(d.path, p.id));
  const auto finals = r.finals();
  for (const char* k : {"click.auc", "click.loss", "rating.rmse", "rating.loss", "loss"})
    BOOST_TEST(finals.at("test").count(k) == 1u, k);
  BOOST_TEST(finals.at("test").count("click.rmse") == 0u);  // a metric only for the tasks it applies to
  BOOST_TEST(r.curve("train", "weight.click").size() == 3u);
  BOOST_TEST(r.curve("valid", "click.auc").size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_multi_task_model_on_feature_vectors_alone_trains) {
  // A table of numeric columns only (MMoE's setting: feature vectors, no sequence): the model is the
  // features -> experts -> towers; both tasks learn their planted rule.
  Dir d;
  {
    std::ofstream csv(d.path / "features.csv");
    core::Rng rng(3);
    csv << "x0,x1,x2,x3,x4,x5,a,b\n";
    for (int r = 0; r < 600; ++r) {
      float x[6];
      for (float& v : x) v = rng.uniform(-1.f, 1.f);
      csv << fmt::format("{},{},{},{},{},{},{},{}\n", x[0], x[1], x[2], x[3], x[4], x[5],
                         x[0] + x[1] > 0 ? "yes" : "no", x[2] * x[3] > 0 ? "yes" : "no");
    }
  }
  const std::string text = R"(name: dense
data:
  dataset: {type: tabular, path: features.csv, numeric: [x0, x1, x2, x3, x4, x5], seed: 1,
            tasks: [{name: a, column: a, kind: binary, positive: ['yes']}, {name: b, column: b, kind: binary, positive: ['yes']}]}
model:
  side_features: true
  multitask: {type: mmoe, num_experts: 4, expert_hidden: [32, 16]}
  tasks: {a: {type: binary, hidden: [8]}, b: {type: binary, hidden: [8]}}
train: {epochs: 30, batch_size: 32, optimizer: {type: adam, lr: 0.01}}
eval: {metrics: [auc], select: loss}
)";
  TrialPlan p;
  p.spec = resolve(config::parse(text, (d.path / "dense.yaml").string()));
  p.spec.base_dir = d.path.string();
  p.id = p.spec.hash.substr(0, 12);
  p.out_dir = d.path.string();
  const TrialOutcome out = run_trial(p);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  BOOST_TEST(out.final.at("test/a.auc") > 0.95, out.final.at("test/a.auc"));  // linear: easy
  BOOST_TEST(out.final.at("test/b.auc") > 0.8, out.final.at("test/b.auc"));   // a product: needs the experts
  // Without side_features the model has no input: a clear failure, not a crash.
  p.spec = resolve(config::parse(
      text.substr(0, text.find("  side_features: true\n")) + text.substr(text.find("  side_features: true\n") + 22),
      (d.path / "dense.yaml").string()));
  p.spec.base_dir = d.path.string();
  p.id = p.spec.hash.substr(0, 12);
  const TrialOutcome refused = run_trial(p);
  BOOST_TEST((refused.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(refused.message.find("model.side_features: true") != std::string::npos, refused.message);
}

// validate's rehearsal: every trial of a sweep meets its data before anything runs. A trial that
// the run would refuse is named with its swept values and the run's own message; equal trials are
// rehearsed once; nothing is left behind.
BOOST_AUTO_TEST_CASE(a_rehearsal_names_each_trial_the_data_refuses) {
  Dir d;
  {
    std::ofstream csv(d.path / "features.csv");
    csv << "x0,x1,a\n";
    for (int r = 0; r < 80; ++r) csv << fmt::format("{},{},{}\n", r % 7, r % 5, r % 2 ? "yes" : "no");
  }
  const std::string text = R"(name: rehearsed
data:
  dataset: {type: tabular, path: features.csv, numeric: [x0, x1], seed: 1,
            tasks: [{name: a, column: a, kind: binary, positive: ['yes']}]}
model:
  side_features: true
  query: none
  multitask: {type: shared_bottom, hidden: [8]}
  tasks: {a: {type: binary}}
train: {epochs: 50, batch_size: 16}
eval: {metrics: [auc], select: loss}
sweep:
  grid:
    model.side_features: [true, false]
    model.query: [none, user]
)";
  std::ofstream(d.path / "rehearsed.yaml") << text;
  const ResolvedSpec spec = load_experiment((d.path / "rehearsed.yaml").string(), {});
  BOOST_TEST(spec.trials.size() == 4u);  // loading resolved every trial once
  std::vector<std::size_t> visited;
  const auto failures = rehearse(spec, [&](std::size_t i, std::size_t n) {
    BOOST_TEST(n == 4u);
    visited.push_back(i);
  });
  BOOST_TEST(visited == (std::vector<std::size_t>{0, 1, 2, 3}), boost::test_tools::per_element());
  // Only (side_features true, query none) can run: the table has no sequence and no user.
  BOOST_REQUIRE(failures.size() == 3u);
  std::set<std::size_t> failed;
  for (const auto& f : failures) {
    failed.insert(f.index);
    BOOST_TEST(f.label.find("model.side_features=") != std::string::npos, f.label);
    BOOST_TEST((f.message.find("model.side_features: true") != std::string::npos ||
                f.message.find("model.query is 'user'") != std::string::npos),
               f.message);
  }
  BOOST_TEST(failed.count(0) == 0u);  // the grid's first trial is the one that runs
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))  // its scratch directory is gone
    BOOST_TEST(e.path().filename().string().find(fmt::format("attnlab-rehearsal-{}-", ::getpid())) ==
               std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::experiment
