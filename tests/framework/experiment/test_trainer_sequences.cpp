// The trainer with the sequence objectives on a small interaction log written by the test: the
// all-position and cloze objectives learn a planted successor rule, test curves and the user sample
// are recorded and described, a cloze trial resumes bitwise, and the popularity baseline gives the
// figure computed here by hand from the training split.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/trainer.h"
#include "framework/store/checkpoint.h"
#include "framework/store/trial.h"
#include "tests/support/temp_dir.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace attnlab::experiment {
namespace {

namespace fs = std::filesystem;

constexpr int kUsers = 60, kItems = 30, kLength = 12;

/// Item after `item` in user u's world: one of two successor rules (by the user's parity), which a
/// sequence model learns from the history; the squares rule makes some items far more popular than
/// others, so popularity is a real baseline here.
int successor(int item, int user) { return user % 2 ? (item * item) % kItems + 1 : (item * 7 + 3) % kItems + 1; }

/// user <TAB> item <TAB> time, kLength interactions per user from a user-dependent start.
void write_log(const fs::path& path) {
  std::ofstream out(path);
  out << "user\titem\ttime\n";
  for (int u = 0; u < kUsers; ++u) {
    int item = 1 + (u * 11) % kItems;
    for (int t = 0; t < kLength; ++t) {
      out << "u" << u << '\t' << "i" << item << '\t' << (u * 100 + t) << '\n';
      item = successor(item, u);
    }
  }
}

struct Dir : testing::TempDir {
  Dir() : TempDir("trainer_sequences") { write_log(path / "log.tsv"); }
};

std::string spec_text(const std::string& model, const std::string& train, const std::string& eval) {
  return "name: seq\n"
         "data:\n  task: next_item\n  dataset: {type: interactions, path: log.tsv, delimiter: tab, quote: '', "
         "user_col: user, "
         "item_col: item, time_col: time, split: leave_one_out}\n"
         "preprocess: [{type: pad_truncate, max_len: 10}]\n"
         "model:\n" +
         model + "train:\n" + train + "eval:\n" + eval;
}

TrialPlan plan_for(const std::string& text, const fs::path& dir) {
  TrialPlan plan;
  plan.spec = resolve(config::parse(text, (dir / "seq.yaml").string()));
  plan.spec.base_dir = dir.string();
  plan.id = plan.spec.hash.substr(0, 12);
  plan.out_dir = dir.string();
  plan.threads = 1;
  return plan;
}

const std::string kSasrec =
    "  embedding: 16\n  positions: learned\n  embedding_scale: true\n  embedding_init: xavier_normal\n"
    "  extractor: {type: transformer, layers: 1, num_heads: 1, ffn_dim: 16, dropout: 0.1, norm_first: true, "
    "final_norm: true, causal: true}\n"
    "  attention: {type: none}\n  pooling: {type: last}\n  head: {type: next_item, loss: bce, negatives: 1, "
    "exclude_seen: true}\n";
const std::string kSampledEval =
    "  metrics: [hr, ndcg]\n  ks: [5]\n  ranking: {mode: sampled, negatives: 10, exclude_history: true}\n"
    "  max_users: 40\n  select: ndcg@5\n  test_curves: true\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(trainer_sequences)

BOOST_AUTO_TEST_CASE(all_positions_learns_and_records_test_curves_and_its_protocol) {
  Dir d;
  const auto plan = plan_for(spec_text(kSasrec,
                                       "  objective: {type: all_positions}\n  epochs: 12\n  batch_size: 16\n"
                                       "  optimizer: {type: adam, lr: 0.01}\n",
                                       kSampledEval),
                             d.path);
  const TrialOutcome out = run_trial(plan);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  const store::TrialReader r(store::trial_path(d.path, plan.id));
  const auto protocol = r.data().protocol;
  BOOST_TEST(protocol.find(fmt::format("all positions of {} training sequences, the last 10 of each: {} of {} targets",
                                       kUsers, kUsers * (kLength - 3), kUsers * (kLength - 3))) != std::string::npos,
             protocol);
  BOOST_TEST(protocol.find("none from the example's history") != std::string::npos, protocol);
  BOOST_TEST(protocol.find("sample of 40 users (valid 40 of 60 rows, test 40 of 60)") != std::string::npos, protocol);
  BOOST_TEST(protocol.find("best epoch chosen on validation (test curves recorded every epoch)") != std::string::npos,
             protocol);
  const auto test_hr = r.curve("test", "hr@5");
  BOOST_TEST(test_hr.size() == 12u);
  BOOST_TEST(r.curve("valid", "ndcg@5").size() == 12u);
  // 5 of 11 candidates by chance: hr@5 ~ 0.45. The planted successor is learnt.
  BOOST_TEST(out.final.at("test/hr@5") > 0.8, out.final.at("test/hr@5"));
  BOOST_TEST(r.curve("train", "loss").back() < r.curve("train", "loss").front());
  // Timing counts sequences: 60 per epoch.
  BOOST_TEST(r.timing().epochs.size() == 12u);
  // The dense ids map back to the file's item ids: every item of the log, once, padding first.
  const auto tokens = r.data().tokens;
  BOOST_REQUIRE_EQUAL(tokens.size(), static_cast<std::size_t>(kItems) + 1);
  BOOST_TEST(tokens[0] == "<pad>");
  std::set<std::string> items(tokens.begin() + 1, tokens.end());
  for (int i = 1; i <= kItems; ++i) BOOST_TEST(items.count(fmt::format("i{}", i)) == 1u, i);
  // The probe's first history is user u0's, which starts at item i1 (write_log).
  const auto probe = r.attention_probe();
  BOOST_REQUIRE(probe.count("ids") == 1u);
  const auto* ids = probe.at("ids").i64();
  const std::int64_t t = probe.at("ids").shape()[1];
  std::int64_t first = 0;
  while (first < t && ids[first] == 0) ++first;
  BOOST_REQUIRE(first < t);
  BOOST_TEST(tokens[static_cast<std::size_t>(ids[first])] == "i1");
}

BOOST_AUTO_TEST_CASE(cloze_learns_and_resumes_bitwise) {
  const std::string model =
      "  embedding: 16\n  positions: learned\n  embedding_init: truncated_normal\n  embedding_std: 0.02\n"
      "  extractor: {type: transformer, layers: 1, num_heads: 2, ffn_dim: 32, dropout: 0.1, activation: gelu}\n"
      "  attention: {type: none}\n  pooling: {type: last}\n  head: {type: next_item}\n";
  const std::string train =
      "  objective: {type: cloze, mask_prob: 0.3}\n  epochs: 4\n  batch_size: 16\n  optimizer: {type: adam, lr: "
      "0.01}\n";
  Dir whole, cut;
  const auto reference = plan_for(spec_text(model, train, kSampledEval), whole.path);
  const TrialOutcome done = run_trial(reference);
  BOOST_REQUIRE_MESSAGE(done.status == TrialOutcome::Status::kDone, done.message);
  const store::TrialReader rw(store::trial_path(whole.path, reference.id));
  BOOST_TEST(rw.data().protocol.find("cloze: 60 training sequences, 30% of each sequence's steps masked per epoch") !=
             std::string::npos);
  BOOST_TEST(rw.curve("train", "loss").back() < rw.curve("train", "loss").front());

  TrialPlan plan = plan_for(spec_text(model, train, kSampledEval), cut.path);
  std::atomic<bool> stop{false};
  plan.stop = &stop;
  plan.progress = [&](const TrialProgress& p) {
    if (p.epoch == 3 && p.phase == "train") stop = true;
  };
  BOOST_REQUIRE(run_trial(plan).status == TrialOutcome::Status::kStopped);
  stop = false;
  plan.progress = {};
  const TrialOutcome second = run_trial(plan);
  BOOST_REQUIRE_MESSAGE(second.status == TrialOutcome::Status::kDone, second.message);
  BOOST_TEST(second.resumed_from_epoch == 2);
  const store::TrialReader rc(store::trial_path(cut.path, plan.id));
  // The trial's own time counts the run before the resume (up to its checkpoint), not only this run.
  BOOST_TEST(rc.timing().total_seconds > second.seconds);
  BOOST_TEST(rc.curve("train", "loss") == rw.curve("train", "loss"), boost::test_tools::per_element());
  BOOST_TEST(rc.finals() == rw.finals());
}

BOOST_AUTO_TEST_CASE(popularity_baseline_gives_the_hand_computed_figure) {
  // Full ranking over the 30 items: the target's rank is the number of other items whose training
  // count is at least its own (ties rank below). Training targets: every item after the first of
  // each user's sequence up to the third-last (leave-one-out); test target: the last.
  std::map<int, int> count;  // every item of the log, with its count of training targets
  std::vector<int> test_targets;
  for (int u = 0; u < kUsers; ++u) {
    std::vector<int> seq{1 + (u * 11) % kItems};
    for (int t = 1; t < kLength; ++t) seq.push_back(successor(seq.back(), u));
    for (const int item : seq) count.try_emplace(item, 0);
    for (int t = 1; t < kLength - 2; ++t) ++count[seq[static_cast<std::size_t>(t)]];
    test_targets.push_back(seq.back());
  }
  double hits = 0;
  for (const int y : test_targets) {
    int rank = 0;
    for (const auto& [j, c] : count)
      if (j != y && c >= count.at(y)) ++rank;
    hits += rank < 10 ? 1 : 0;
  }
  const double want = hits / kUsers;
  BOOST_TEST_REQUIRE((want > 0.05 && want < 0.95),
                     "the hand-computed figure " << want << " would not tell ranks apart");

  Dir d;
  const auto plan = plan_for(
      spec_text("  embedding: 4\n  extractor: {type: identity}\n  attention: {type: none}\n  pooling: {type: last}\n"
                "  head: {type: popularity}\n",
                "  epochs: 1\n  batch_size: 64\n",
                "  metrics: [hr]\n  ks: [10]\n  ranking: {mode: full}\n  select: hr@10\n"),
      d.path);
  const TrialOutcome out = run_trial(plan);
  BOOST_REQUIRE_MESSAGE(out.status == TrialOutcome::Status::kDone, out.message);
  BOOST_TEST(out.final.at("test/hr@10") == want, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(a_model_unfit_for_the_objective_fails_the_trial_naming_the_config_path) {
  Dir d;
  const auto plan = plan_for(
      spec_text("  embedding: 8\n  extractor: {type: gru, bidirectional: true}\n  attention: {type: none}\n"
                "  pooling: {type: last}\n  head: {type: next_item}\n",
                "  objective: {type: all_positions}\n  epochs: 1\n", "  metrics: [hr]\n  ks: [5]\n  select: hr@5\n"),
      d.path);
  const TrialOutcome out = run_trial(plan);
  BOOST_TEST((out.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(out.message.find("model.extractor") != std::string::npos, out.message);
  BOOST_TEST(out.message.find("bidirectional: false") != std::string::npos, out.message);
}

BOOST_AUTO_TEST_CASE(padding_each_batch_to_its_own_length_trains_the_same_model) {
  // A masked transformer with learned positions and masked mean pooling: padding columns change
  // nothing, so batches padded to their own length (data.padding: batch) give the losses of
  // batches padded to the data set's length, up to summation order. Batches of 4 over histories of
  // 1..10 steps (pad_truncate 10): many are shorter than 10.
  Dir d;
  const std::string model =
      "  embedding: 8\n  positions: learned\n"
      "  extractor: {type: transformer, layers: 1, num_heads: 2, ffn_dim: 16, dropout: 0.0}\n"
      "  attention: {type: none}\n  pooling: {type: mean}\n  head: {type: next_item}\n";
  const std::string train = "  epochs: 2\n  batch_size: 4\n  optimizer: {type: adam, lr: 0.01}\n";
  const std::string eval = "  metrics: [hr]\n  ks: [5]\n  select: hr@5\n";
  const auto whole = plan_for(spec_text(model, train, eval), d.path);
  std::string text = spec_text(model, train, eval);
  text.replace(text.find("  task: next_item\n"), 18, "  task: next_item\n  padding: batch\n");
  const auto trimmed = plan_for(text, d.path);
  BOOST_REQUIRE(trimmed.id != whole.id);
  const TrialOutcome a = run_trial(whole), b = run_trial(trimmed);
  BOOST_REQUIRE_MESSAGE(a.status == TrialOutcome::Status::kDone, a.message);
  BOOST_REQUIRE_MESSAGE(b.status == TrialOutcome::Status::kDone, b.message);
  const auto la = store::TrialReader(store::trial_path(d.path, whole.id)).curve("train", "loss");
  const auto lb = store::TrialReader(store::trial_path(d.path, trimmed.id)).curve("train", "loss");
  BOOST_REQUIRE_EQUAL(la.size(), lb.size());
  for (std::size_t e = 0; e < la.size(); ++e) BOOST_TEST(lb[e] == la[e], boost::test_tools::tolerance(1e-4));
  BOOST_TEST(b.final.at("test/hr@5") == a.final.at("test/hr@5"), boost::test_tools::tolerance(0.02));

  // Flatten pooling needs every batch at the data set's length: refused at the spec's line.
  std::string flat = text;
  flat.replace(flat.find("pooling: {type: mean}"), 21, "pooling: {type: flatten}");
  const TrialOutcome c = run_trial(plan_for(flat, d.path));
  BOOST_TEST((c.status == TrialOutcome::Status::kFailed));
  BOOST_TEST(c.message.find("seq.yaml:4:3: data.padding: batch: the model has a stage") != std::string::npos,
             c.message);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::experiment
