// dataset/interactions and framework/data/sequences.h on tiny hand-made files with answers worked
// out by hand, leakage properties on a generated log, and the shipped MovieLens file's counts.
#include "framework/config/value.h"
#include "framework/core/rng.h"
#include "framework/data/sequences.h"
#include "plugins/dataset/interactions/interactions.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include "tests/support/temp_dir.h"

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace attnlab;
using namespace attnlab::data;
using attnlab::plugins::InteractionsConfig;
using attnlab::plugins::InteractionsDataset;
using V = std::vector<std::int64_t>;

namespace {

const std::string kFiles = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/files";

// tiny.tsv (columns user item ts rating extra), rows in file order:
//   u1 a 10 4 | u1 b 5 3 | u2 b 7 5 | u1 c 10 2 | u2 c 8 1 | u3 a 1 3 | u1 d 20 5 | u2 a 9 4 | u3 d 30 2
// Sorted by (ts, row): u3a@1 u1b@5 u2b@7 u2c@8 u2a@9 u1a@10 u1c@10 u1d@20 u3d@30, so
//   users u3→0 u1→1 u2→2, items a→1 b→2 c→3 d→4 (first appearance), and the sequences are
//   user 0: a d        = 1 4      @ 1 30
//   user 1: b a c d    = 2 1 3 4  @ 5 10 10 20   (a before c: equal times keep the file's order)
//   user 2: b c a      = 2 3 1    @ 7 8 9
// tokens = 1 4 2 1 3 4 2 3 1; examples (min_history 1), target in brackets:
//   0: u0 [0,1) [4]@30   1: u1 [2,3) [1]@10   2: u1 [2,4) [3]@10   3: u1 [2,5) [4]@20
//   4: u2 [6,7) [3]@8    5: u2 [6,8) [1]@9
InteractionsConfig tiny_config() {
  InteractionsConfig c;
  // std::string(...): assigning the literal trips GCC 12's false -Wrestrict (GCC bug 105329).
  c.path = std::string("tiny.tsv");
  c.delimiter = std::string("\t");
  c.time_col = std::string("ts");
  return c;
}

Built load_and_build(const InteractionsConfig& c, DataReport* report_out = nullptr) {
  core::Rng rng(1);
  InteractionsDataset d(c, {.rng = &rng, .base_dir = kFiles});
  DataReport report;
  Table t = d.load(report);
  Built b = d.build(std::move(t), report);
  if (report_out) *report_out = report;
  return b;
}

// A scratch directory per process for the files the tests write; removed at exit.
fs::path scratch() {
  static const testing::TempDir s("test_interactions");
  return s.path;
}

// Consistency of the fields examples.h promises (independent of Examples::validate).
void check_consistent(const Examples& ex) {
  const auto n = static_cast<std::size_t>(ex.size());
  BOOST_TEST(ex.end.size() == n);
  BOOST_TEST(ex.users.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    BOOST_TEST(ex.begin[i] >= 0);
    BOOST_TEST(ex.begin[i] < ex.end[i]);
    BOOST_TEST(ex.end[i] < static_cast<std::int64_t>(ex.tokens.size()));
    BOOST_TEST(ex.users[i] >= 0);
    BOOST_TEST(ex.users[i] < ex.num_users);
  }
  for (auto t : ex.tokens) {
    BOOST_TEST(t >= 1);
    BOOST_TEST(t < ex.vocab);
  }
  for (const auto& l : ex.labels) {
    if (l.kind == LabelKind::kItem || l.kind == LabelKind::kClass)
      BOOST_TEST(l.ids.size() == n);
    else
      BOOST_TEST(l.values.size() == n);
    for (auto id : l.ids) BOOST_TEST((id >= 1 && id < l.classes));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_interactions)

BOOST_AUTO_TEST_CASE(ids_tie_breaking_examples_and_leave_one_out_by_hand) {
  DataReport report;
  const Built b = load_and_build(tiny_config(), &report);
  const Examples& ex = b.examples;
  BOOST_TEST(ex.tokens == (V{1, 4, 2, 1, 3, 4, 2, 3, 1}), boost::test_tools::per_element());
  BOOST_TEST(ex.begin == (V{0, 2, 2, 2, 6, 6}), boost::test_tools::per_element());
  BOOST_TEST(ex.end == (V{1, 3, 4, 5, 7, 8}), boost::test_tools::per_element());
  BOOST_TEST(ex.users == (V{0, 1, 1, 1, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(ex.times == (std::vector<double>{30, 10, 10, 20, 8, 9}), boost::test_tools::per_element());
  BOOST_TEST(ex.vocab == 5);
  BOOST_TEST(ex.num_users == 3);
  BOOST_TEST(ex.targets.empty());
  BOOST_REQUIRE(ex.labels.size() == 1u);
  BOOST_TEST(ex.labels[0].task == "next_item");
  BOOST_TEST((ex.labels[0].kind == LabelKind::kItem));
  BOOST_TEST(ex.labels[0].classes == 5);
  BOOST_TEST(ex.labels[0].ids == (V{4, 1, 3, 4, 3, 1}), boost::test_tools::per_element());
  // user 0 has 2 interactions: train only; user 1: ex 3 test, 2 valid; user 2: ex 5 test, 4 valid.
  BOOST_TEST(b.splits.train == (V{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.valid == (V{2, 4}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.test == (V{3, 5}), boost::test_tools::per_element());
  BOOST_TEST(b.protocol.starts_with("leave_one_out"));
  BOOST_REQUIRE(!report.lines.empty());
  BOOST_TEST(report.lines.back().find("9 interactions, 3 users, 4 items; 6 examples: train 2, valid 2, test 2") !=
                 std::string::npos,
             report.lines.back());
  check_consistent(ex);
}

BOOST_AUTO_TEST_CASE(rating_click_and_targets) {
  InteractionsConfig c = tiny_config();
  c.rating_col = "rating";
  c.click_threshold = 4.0;
  c.fill_targets = true;
  const Examples ex = load_and_build(c).examples;
  BOOST_REQUIRE(ex.labels.size() == 3u);
  BOOST_TEST(ex.labels[1].task == "rating");
  BOOST_TEST((ex.labels[1].kind == LabelKind::kValue));
  // targets: u3d u1a u1c u1d u2c u2a
  BOOST_TEST(ex.labels[1].values == (std::vector<float>{2, 4, 2, 5, 1, 4}), boost::test_tools::per_element());
  BOOST_TEST(ex.labels[2].task == "click");
  BOOST_TEST((ex.labels[2].kind == LabelKind::kBinary));
  BOOST_TEST(ex.labels[2].values == (std::vector<float>{0, 1, 0, 1, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(ex.targets == (V{4, 1, 3, 4, 3, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(min_history_drops_short_prefixes) {
  InteractionsConfig c = tiny_config();
  c.min_history = 2;
  const Built b = load_and_build(c);
  // user 1: p = 2, 3 (targets c, d); user 2: p = 2 (target a); user 0 has none.
  BOOST_TEST(b.examples.end == (V{4, 5, 8}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.train.empty());
  BOOST_TEST(b.splits.valid == (V{0}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.test == (V{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_train_per_user_keeps_each_users_latest_targets) {
  InteractionsConfig c = tiny_config();
  c.split = "temporal";
  c.q_train = 1.0;  // every target trains: users of the examples are 0 1 1 1 2 2
  c.q_valid = 1.0;
  BOOST_TEST(load_and_build(c).splits.train == (V{0, 1, 2, 3, 4, 5}), boost::test_tools::per_element());
  c.max_train_per_user = 1;
  BOOST_TEST(load_and_build(c).splits.train == (V{0, 3, 5}), boost::test_tools::per_element());
  c.max_train_per_user = 2;
  const Built b = load_and_build(c);
  BOOST_TEST(b.splits.train == (V{0, 2, 3, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(b.protocol.find("last 2 targets") != std::string::npos, b.protocol);
}

BOOST_AUTO_TEST_CASE(temporal_split_by_hand) {
  InteractionsConfig c = tiny_config();
  c.split = "temporal";
  c.q_train = 0.5;
  c.q_valid = 0.8;
  const Built b = load_and_build(c);
  // target times 30 10 10 20 8 9, sorted 8 9 10 10 20 30: the 0.5 quantile is the 3rd (10), the
  // 0.8 quantile the ceil(4.8) = 5th (20).
  BOOST_TEST(b.splits.train == (V{1, 2, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.valid == (V{3}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.test == (V{0}), boost::test_tools::per_element());
  BOOST_TEST(b.protocol.find("target time <= 10 train, <= 20 valid") != std::string::npos, b.protocol);
}

BOOST_AUTO_TEST_CASE(time_quantiles) {
  const std::vector<double> t{5, 1, 4, 2, 3};
  BOOST_TEST(time_quantile(t, 0.2, "w") == 1);
  BOOST_TEST(time_quantile(t, 0.21, "w") == 2);
  BOOST_TEST(time_quantile(t, 0.6, "w") == 3);
  BOOST_TEST(time_quantile(t, 1.0, "w") == 5);
  BOOST_TEST(std::isinf(time_quantile(t, 0.0, "w")));
  BOOST_TEST(time_quantile(std::vector<double>(10, 0.0), 0.7, "w") == 0);
}

BOOST_AUTO_TEST_CASE(gzip_file_gives_the_same_examples) {
  InteractionsConfig c = tiny_config();
  const Built plain = load_and_build(c);
  c.path = "tiny.tsv.gz";
  const Built gz = load_and_build(c);
  BOOST_TEST(gz.examples.tokens == plain.examples.tokens, boost::test_tools::per_element());
  BOOST_TEST(gz.examples.end == plain.examples.end, boost::test_tools::per_element());
  BOOST_TEST(gz.splits.test == plain.splits.test, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sasrec_format) {
  // sasrec.txt: "1 5", "1  3", "1<TAB>7", "2 3", "2 5", "2 9", "2 8" (row order = time order).
  // users 1→0 2→1; items 5→1 3→2 7→3 9→4 8→5; sequences 1 2 3 | 2 1 4 5.
  InteractionsConfig c;
  c.path = "sasrec.txt";
  c.format = "sasrec";
  const Built b = load_and_build(c);
  const Examples& ex = b.examples;
  BOOST_TEST(ex.tokens == (V{1, 2, 3, 2, 1, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(ex.begin == (V{0, 0, 3, 3, 3}), boost::test_tools::per_element());
  BOOST_TEST(ex.end == (V{1, 2, 4, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(ex.labels[0].ids == (V{2, 3, 1, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(ex.times.empty());
  BOOST_TEST(ex.vocab == 6);
  BOOST_TEST(b.splits.train == (V{2}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.valid == (V{0, 3}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.test == (V{1, 4}), boost::test_tools::per_element());
  check_consistent(ex);
  c.split = "temporal";
  core::Rng rng(1);
  testing::expect_error<DataError>([&] { InteractionsDataset(c, {.rng = &rng, .base_dir = kFiles}); },
                                   {"temporal", "sasrec"});
}

// A generated log: 40 users, random items and timestamps with many ties, rows shuffled.
std::string write_generated_log() {
  const std::string path = (scratch() / "generated.csv").string();
  core::Rng rng(7);
  std::ofstream f(path);
  f << "user,item,timestamp\n";
  for (int i = 0; i < 1500; ++i) f << "u" << rng.below(40) << ",i" << rng.below(60) << "," << rng.below(200) << "\n";
  return path;
}

BOOST_AUTO_TEST_CASE(no_leakage_under_leave_one_out) {
  InteractionsConfig c;
  c.path = write_generated_log();
  const Built b = load_and_build(c);
  const Examples& ex = b.examples;
  check_consistent(ex);
  const auto& target = ex.labels[0].ids;
  std::map<std::int64_t, std::int64_t> valid_of, test_of;  // user -> example
  for (auto i : b.splits.valid) valid_of[ex.users[static_cast<std::size_t>(i)]] = i;
  for (auto i : b.splits.test) test_of[ex.users[static_cast<std::size_t>(i)]] = i;
  BOOST_TEST(valid_of.size() == b.splits.valid.size());  // one valid and one test example per user
  BOOST_TEST(test_of.size() == b.splits.test.size());
  BOOST_TEST(valid_of.size() == 40u);
  auto history = [&](std::int64_t i) {
    return V(ex.tokens.begin() + ex.begin[static_cast<std::size_t>(i)],
             ex.tokens.begin() + ex.end[static_cast<std::size_t>(i)]);
  };
  std::set<std::int64_t> held_out(b.splits.valid.begin(), b.splits.valid.end());
  held_out.insert(b.splits.test.begin(), b.splits.test.end());
  for (auto i : b.splits.train) {
    const auto u = ex.users[static_cast<std::size_t>(i)];
    BOOST_TEST(!held_out.count(i));
    for (const auto* m : {&valid_of, &test_of}) {
      const auto it = m->find(u);
      if (it == m->end()) continue;
      const auto j = it->second;
      // never the same (prefix, target) as a held-out example of the same user
      BOOST_TEST(
          !(history(i) == history(j) && target[static_cast<std::size_t>(i)] == target[static_cast<std::size_t>(j)]));
    }
    // every training target precedes the user's valid target (in time, and in the sequence)
    const auto v = valid_of.at(u);
    BOOST_TEST(ex.times[static_cast<std::size_t>(i)] <= ex.times[static_cast<std::size_t>(v)]);
    BOOST_TEST(ex.end[static_cast<std::size_t>(i)] < ex.end[static_cast<std::size_t>(v)]);
  }
  // the test target is each user's last interaction, the valid one the second-to-last
  for (const auto& [u, j] : test_of)
    BOOST_TEST(ex.end[static_cast<std::size_t>(j)] == ex.end[static_cast<std::size_t>(valid_of.at(u))] + 1);
}

BOOST_AUTO_TEST_CASE(no_leakage_under_the_temporal_split) {
  InteractionsConfig c;
  c.path = write_generated_log();
  c.split = "temporal";
  const Built b = load_and_build(c);
  const Examples& ex = b.examples;
  std::vector<double> times = ex.times;
  std::sort(times.begin(), times.end());
  const double cut = times[static_cast<std::size_t>(std::ceil(0.8 * static_cast<double>(times.size()))) - 1];
  double max_train = -1, min_held = 1e300;
  for (auto i : b.splits.train) max_train = std::max(max_train, ex.times[static_cast<std::size_t>(i)]);
  for (auto i : b.splits.valid) min_held = std::min(min_held, ex.times[static_cast<std::size_t>(i)]);
  for (auto i : b.splits.test) min_held = std::min(min_held, ex.times[static_cast<std::size_t>(i)]);
  BOOST_TEST(max_train <= cut);
  BOOST_TEST(min_held > cut);
  BOOST_TEST(b.splits.train.size() + b.splits.valid.size() + b.splits.test.size() ==
             static_cast<std::size_t>(ex.size()));
  BOOST_TEST(!b.splits.valid.empty());
  BOOST_TEST(!b.splits.test.empty());
}

BOOST_AUTO_TEST_CASE(histories_are_time_ordered_prefixes) {
  // Rebuild the sequences directly: every interaction of a history is no later than the target.
  std::vector<std::string_view> users{"x", "y", "x", "x", "y"}, items{"p", "q", "q", "p", "r"};
  const std::vector<double> times{3, 1, 2, 2, 1};
  const Sequences s = make_sequences(users, items, times, {});
  // sorted (time, row): y q @1 (row 1), y r @1 (row 4), x q @2 (row 2), x p @2 (row 3), x p @3 (row 0)
  // users y→0 x→1; items q→1 r→2 p→3
  BOOST_TEST(s.offsets == (V{0, 2, 5}), boost::test_tools::per_element());
  BOOST_TEST(s.items == (V{1, 2, 1, 3, 3}), boost::test_tools::per_element());
  BOOST_TEST(s.rows == (V{1, 4, 2, 3, 0}), boost::test_tools::per_element());
  BOOST_TEST(s.user_keys == (std::vector<std::string>{"y", "x"}), boost::test_tools::per_element());
  BOOST_TEST(s.item_keys == (std::vector<std::string>{"", "q", "r", "p"}), boost::test_tools::per_element());
  const Examples ex = next_item_examples(s, 1, "w");
  for (std::int64_t i = 0; i < ex.size(); ++i)
    for (auto p = ex.begin[static_cast<std::size_t>(i)]; p < ex.end[static_cast<std::size_t>(i)]; ++p)
      BOOST_TEST(s.times[static_cast<std::size_t>(p)] <= ex.times[static_cast<std::size_t>(i)]);
  testing::expect_error<DataError>([&] { next_item_examples(s, 0, "who"); }, {"who", "min_history 0"});
}

BOOST_AUTO_TEST_CASE(errors) {
  core::Rng rng(1);
  const Dataset::Context ctx{.rng = &rng, .base_dir = kFiles};
  DataReport report;
  InteractionsConfig c = tiny_config();
  c.path = "no_such.tsv";
  // At the config field (a run reports the spec's line: data.dataset.path).
  testing::expect_error<attnlab::config::PathError>([&] { InteractionsDataset(c, ctx).load(report); },
                                                    {"path: no such file: " + kFiles + "/no_such.tsv"});

  c = tiny_config();
  c.user_col = "userId";
  testing::expect_error<DataError>([&] { InteractionsDataset(c, ctx).load(report); },
                                   {"'userId'", "does not exist", "columns: user, item, ts, rating, extra"});

  c = tiny_config();
  c.path = "tiny_bad.tsv";
  testing::expect_error<DataError>([&] { InteractionsDataset(c, ctx).load(report); },
                                   {"tiny_bad.tsv:4: expected 3 fields, got 2"});
  c.on_error = "drop";
  DataReport dropped;
  const Built b = load_and_build(c, &dropped);
  BOOST_REQUIRE(!dropped.lines.empty());
  BOOST_TEST(
      dropped.lines[0].find("2 malformed rows dropped (on_error: drop; first: line 4: expected 3 fields, got 2)") !=
          std::string::npos,
      dropped.lines[0]);
  // left: u1 a@1, u1 b@2, u2 b@3 (line 5, blanks trimmed), u3 a@4, u3 b@5 → examples u1→b, u3→b
  BOOST_TEST(b.examples.size() == 2);

  c = tiny_config();
  c.path = "one_each.csv";
  c.delimiter = ",";
  c.time_col = "ts";
  testing::expect_error<DataError>([&] { load_and_build(c); }, {"no examples", "3 rows, 3 users"});

  c = tiny_config();
  c.click_threshold = 4;
  testing::expect_error<DataError>([&] { InteractionsDataset(c, ctx); }, {"click_threshold needs rating_col"});

  // a missing timestamp: rejected with its line, or dropped and counted
  c = tiny_config();
  InteractionsDataset d(c, ctx);
  Table t = d.load(report);
  t.column("ts", "test").num[2] = NAN;  // row 3 of the file = line 4
  testing::expect_error<DataError>([&] { d.build(t, report); }, {"tiny.tsv:4: column 'ts' is missing"});
  c.on_error = "drop";
  DataReport r2;
  const Built b2 = InteractionsDataset(c, ctx).build(t, r2);
  BOOST_TEST(b2.examples.tokens.size() == 8u);
  BOOST_TEST(r2.lines[0].find("1 row with a missing user, item or time dropped (first: line 4: column 'ts')") !=
                 std::string::npos,
             r2.lines[0]);
}

BOOST_AUTO_TEST_CASE(shipped_movielens_small_counts) {
  InteractionsConfig c;
  c.path = "datasets/movielens-small/ratings.tsv.gz";
  c.delimiter = "\t";
  c.quote = "";
  c.user_col = "userId";
  c.item_col = "movieId";
  c.time_col = "timestamp";
  c.rating_col = "rating";
  core::Rng rng(1);
  InteractionsDataset d(c, {.rng = &rng, .base_dir = ATTNLAB_PROJECT_DIR});
  DataReport report;
  Table t = d.load(report);
  BOOST_TEST(t.rows() == 100004);
  const Built b = d.build(std::move(t), report);
  BOOST_TEST(b.examples.num_users == 671);
  BOOST_TEST(b.examples.vocab == 9066 + 1);
  BOOST_TEST(b.examples.size() == 100004 - 671);  // every user has >= 20 ratings
  BOOST_TEST(b.splits.test.size() == 671u);
  BOOST_TEST(b.splits.valid.size() == 671u);
  check_consistent(b.examples);
}

BOOST_AUTO_TEST_SUITE_END()
