// prepare_data end to end (dataset -> row steps -> build -> example steps -> checks -> seq_len) on
// the generated marker dataset and on a tiny test-only table dataset, and Examples::validate.
#include "framework/config/value.h"
#include "framework/data/pipeline.h"
#include "framework/data/text_file.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <charconv>
#include <cmath>
#include <map>
#include <numeric>

namespace attnlab_pipeline_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using data::DataError;
using I64s = std::vector<std::int64_t>;

const std::string kDir = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/prep";

// ---- a test-only table dataset ----------------------------------------------------------------------
// prep_rows: a comma-separated file with a header; a column is numeric when every non-empty field
// parses as a number. build(): users and items numbered by first appearance (items from 1), one
// example per interaction after a user's first (history: the user's earlier items; label
// "next_item": the item, unless item_label is false; Examples::targets too with targets); dense features and the
// optional binary label "label" from the target's row; the last example of each user is test, the others train.
struct PrepRowsConfig {
  std::string path;
  std::vector<std::string> dense_cols{};
  std::string label_col{};
  bool item_label = true;
  bool targets = false;
  template <class V>
  void visit(V& v) {
    v.required("path", path).doc("file");
    v("dense_cols", dense_cols).doc("dense features");
    v("label_col", label_col).doc("binary label column");
    v("item_label", item_label).doc("add the next_item label");
    v("targets", targets).doc("fill Examples::targets with the next item");
  }
};

class PrepRows : public data::Dataset {
 public:
  PrepRows(const PrepRowsConfig& c, const Context& ctx) : c_(c), path_(data::resolve_path(c.path, ctx.base_dir)) {}

  data::Table load(data::DataReport& report) override {
    data::Table t;
    t.source = c_.path;
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> fields;
    data::for_each_line(path_, [&](std::int64_t line, std::string_view text) {
      data::split_fields(text, ',', '"', true, fields);
      if (line == 1) {
        for (const auto& f : fields)
          t.columns.push_back(data::Column{.name = f, .numeric = false, .num = {}, .str = {}});
        cells.resize(fields.size());
        return true;
      }
      for (std::size_t k = 0; k < cells.size(); ++k) cells[k].push_back(k < fields.size() ? fields[k] : "");
      t.line.push_back(line);
      return true;
    });
    for (std::size_t k = 0; k < cells.size(); ++k) {
      std::vector<double> nums;
      bool numeric = true;
      for (const auto& s : cells[k]) {
        double x = NAN;
        if (!s.empty() && std::from_chars(s.data(), s.data() + s.size(), x).ec != std::errc()) numeric = false;
        nums.push_back(s.empty() ? NAN : x);
      }
      auto& col = t.columns[k];
      col.numeric = numeric;
      if (numeric)
        col.num = std::move(nums);
      else
        col.str = std::move(cells[k]);
    }
    report.lines.push_back(fmt::format("prep_rows: {} rows from {}", t.rows(), c_.path));
    return t;
  }

  data::Built build(data::Table t, data::DataReport&) override {
    const std::string who = "dataset prep_rows";
    auto key = [](const data::Column& c, std::size_t r) { return c.numeric ? fmt::format("{}", c.num[r]) : c.str[r]; };
    const auto& user = t.column("user", who);
    const auto& item = t.column("item", who);
    std::map<std::string, std::int64_t> item_id;
    std::vector<std::string> user_order;
    std::map<std::string, I64s> rows_of;
    for (std::size_t r = 0; r < static_cast<std::size_t>(t.rows()); ++r) {
      item_id.try_emplace(key(item, r), static_cast<std::int64_t>(item_id.size()) + 1);
      auto [it, fresh] = rows_of.try_emplace(key(user, r));
      if (fresh) user_order.push_back(key(user, r));
      it->second.push_back(static_cast<std::int64_t>(r));
    }
    data::Built b;
    auto& ex = b.examples;
    ex.vocab = static_cast<std::int64_t>(item_id.size()) + 1;
    ex.num_users = static_cast<std::int64_t>(user_order.size());
    ex.dense_names = c_.dense_cols;
    data::LabelColumn next{.task = "next_item", .kind = data::LabelKind::kItem, .classes = ex.vocab};
    data::LabelColumn label{.task = "label", .kind = data::LabelKind::kBinary};
    for (std::size_t u = 0; u < user_order.size(); ++u) {
      const auto& rows = rows_of[user_order[u]];
      const auto start = static_cast<std::int64_t>(ex.tokens.size());
      for (std::size_t k = 0; k < rows.size(); ++k) {
        const auto r = static_cast<std::size_t>(rows[k]);
        ex.tokens.push_back(item_id[key(item, r)]);
        if (k == 0) continue;
        if (k + 1 == rows.size())
          b.splits.test.push_back(ex.size());
        else
          b.splits.train.push_back(ex.size());
        ex.begin.push_back(start);
        ex.end.push_back(start + static_cast<std::int64_t>(k));
        ex.users.push_back(static_cast<std::int64_t>(u));
        next.ids.push_back(item_id[key(item, r)]);
        if (c_.targets) ex.targets.push_back(item_id[key(item, r)]);
        for (const auto& d : c_.dense_cols) ex.dense.push_back(static_cast<float>(t.column(d, who).num[r]));
        if (!c_.label_col.empty()) label.values.push_back(static_cast<float>(t.column(c_.label_col, who).num[r]));
      }
    }
    if (c_.item_label) ex.labels.push_back(std::move(next));
    if (!c_.label_col.empty()) ex.labels.push_back(std::move(label));
    b.protocol = "last per user test";
    return b;
  }

 private:
  PrepRowsConfig c_;
  std::string path_;
};

// prep_bad: a dataset whose examples or splits break an invariant, one way per `mode`.
struct PrepBadConfig {
  std::string mode = "token";
  template <class V>
  void visit(V& v) {
    v("mode", mode).choices({"token", "split_range", "split_twice"}).doc("what is wrong");
  }
};

class PrepBad : public data::Dataset {
 public:
  PrepBad(const PrepBadConfig& c, const Context&) : c_(c) {}
  data::Built build(data::Table, data::DataReport&) override {
    data::Built b;
    b.examples.tokens = {1, 2, c_.mode == "token" ? 9 : 2};
    b.examples.vocab = 3;
    b.examples.begin = {0, 1};
    b.examples.end = {2, 3};
    b.splits.train = {0};
    b.splits.test = {c_.mode == "split_range" ? 2 : c_.mode == "split_twice" ? 0 : 1};
    return b;
  }

 private:
  PrepBadConfig c_;
};

template <class Base>
config::PluginSpec<Base> spec(const std::string& yaml) {
  config::PluginSpec<Base> s;
  config::Problems problems;
  config::bind_value(config::parse(yaml, "test"), "spec", problems, s);
  problems.check();
  return s;
}

/// prepare_data from YAML: the dataset's map and a list of step maps.
data::PreparedData prepare(const std::string& dataset, const std::vector<std::string>& steps, std::uint64_t seed = 1) {
  std::vector<config::PluginSpec<data::Preprocess>> specs;
  for (const auto& s : steps) specs.push_back(spec<data::Preprocess>(s));
  core::Rng rng(seed);
  return data::prepare_data(spec<data::Dataset>(dataset), specs, rng, kDir);
}

const std::string kMarker = "{type: marker, train: 20, valid: 5, test: 5, seq_len: 7, vocab: 50, classes: 10}";
const std::string kRows = "{type: prep_rows, path: ratings.csv, dense_cols: [rating]}";

}  // namespace attnlab_pipeline_test

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Dataset, prep_rows, attnlab_pipeline_test::PrepRows,
                        attnlab_pipeline_test::PrepRowsConfig, "test only: a small CSV as next-item examples");
ATTNLAB_REGISTER_PLUGIN(attnlab::data::Dataset, prep_bad, attnlab_pipeline_test::PrepBad,
                        attnlab_pipeline_test::PrepBadConfig, "test only: examples that break an invariant");

using namespace attnlab_pipeline_test;

BOOST_AUTO_TEST_SUITE(pipeline)

BOOST_AUTO_TEST_CASE(marker_without_steps) {
  const auto d = prepare(kMarker, {});
  BOOST_TEST(d.examples.size() == 30);
  BOOST_TEST(d.splits.train.size() == 20u);
  BOOST_TEST(d.seq_len == 7);  // the longest history
  BOOST_TEST(d.protocol == "generated splits");
  BOOST_TEST(d.fitted.empty());
  // No kItem label and no targets: the tokens of the 20 disjoint training histories, 20 x 7 = 140,
  // every one >= 1 (the marker is 1, the others lie in [2, vocab)).
  BOOST_TEST_REQUIRE(d.item_counts.size() == 50u);
  BOOST_TEST(d.item_counts[0] == 0.0f);
  BOOST_TEST(std::accumulate(d.item_counts.begin(), d.item_counts.end(), 0.0f) == 140.0f);
  BOOST_TEST(d.item_counts[1] == 20.0f);  // one marker per history
  BOOST_TEST(d.report.lines.back() ==
             "data: 30 examples (train 20, valid 5, test 5), seq_len 7, longest history 7, vocab 50; generated splits");
  // A class the small training split never shows, though valid/test do: named in a warning.
  const auto& l = d.examples.labels.at(0);
  std::vector<std::int64_t> train(static_cast<std::size_t>(l.classes), 0), other(train.size(), 0);
  for (const auto r : d.splits.train) ++train[static_cast<std::size_t>(l.ids[static_cast<std::size_t>(r)])];
  for (const auto* rows : {&d.splits.valid, &d.splits.test})
    for (const auto r : *rows) ++other[static_cast<std::size_t>(l.ids[static_cast<std::size_t>(r)])];
  std::size_t unseen = 0;
  for (std::size_t c = 0; c < train.size(); ++c) {
    if (train[c] != 0 || other[c] == 0) continue;
    ++unseen;
    BOOST_REQUIRE_EQUAL(d.report.warnings.size(), 1u);
    BOOST_TEST(d.report.warnings[0].find(fmt::format("'{}' ({} example", c, other[c])) != std::string::npos,
               d.report.warnings[0]);
  }
  BOOST_TEST(unseen > 0u);  // this seed leaves one out (the case the warning is for)
}

// A label only a separate test file has: an error naming it and its count (a random split that
// leaves a rare class out of training is the warning above).
BOOST_AUTO_TEST_CASE(a_label_only_the_test_file_has_is_an_error) {
  const std::string files = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/files/";
  const std::string dataset = "{type: tabular, path: " + files + "shop.csv, test_path: " + files +
                              "shop_test_new_label.csv, valid: 0, numeric: [], tasks: [{name: rating, column: "
                              "rating}]}";
  testing::expect_error<data::DataError>(
      [&] { prepare(dataset, {}); },
      {"task 'rating'", "shop_test_new_label.csv has label '5' (2 examples) that the training data never has"});
}

BOOST_AUTO_TEST_CASE(marker_with_pad_truncate_moves_the_truth) {
  const auto plain = prepare(kMarker, {});
  const auto cut = prepare(kMarker, {"{type: pad_truncate, max_len: 5}"});
  BOOST_TEST(cut.seq_len == 5);
  BOOST_TEST(cut.report.lines.front().starts_with("pad_truncate: 30 of 30 histories truncated to 5 (keep last)"),
             cut.report.lines.front());
  // Each marker history has one truth position p (after the marker); keeping the last 5 of 7
  // steps shifts it to p - 2, or drops it when p < 2.
  I64s want_truth, want_offsets{0};
  for (std::int64_t i = 0; i < 30; ++i) {
    const auto p = plain.examples.truth[static_cast<std::size_t>(i)];
    if (p >= 2) want_truth.push_back(p - 2);
    want_offsets.push_back(static_cast<std::int64_t>(want_truth.size()));
    BOOST_TEST(cut.examples.length(i) == 5);
    BOOST_TEST(cut.examples.begin[static_cast<std::size_t>(i)] ==
               plain.examples.begin[static_cast<std::size_t>(i)] + 2);
  }
  BOOST_TEST(cut.examples.truth == want_truth);
  BOOST_TEST(cut.examples.truth_offsets == want_offsets);
}

BOOST_AUTO_TEST_CASE(rows_to_examples_end_to_end) {
  // ratings.csv (lines 2-13): u1 a5 b4 c2 a3 | u2 a4 b- c1 b5 | u3 a2 d4 c3 | u4 b5.
  // drop_missing [rating]: line 7 (u2 b, no rating) goes: 11 rows.
  // kcore 3/2: pass 1 drops u4 (1 row) and item d (1 row); u3 is left with 2 rows; pass 2 drops them.
  // Left: u1 a b c a (5 4 2 3), u2 a c b (4 1 5); items a = 1, b = 2, c = 3; tokens 1 2 3 1 | 1 3 2.
  // Examples: 0 [0,1)->b r4, 1 [0,2)->c r2, 2 [0,3)->a r3 (test), 3 [4,5)->c r1, 4 [4,6)->b r5 (test).
  // standardize on train (ratings 4 2 1): mean 7/3, population std sqrt(14)/3; x' = (3x - 7) / sqrt(14).
  // pad_truncate 2 keeps example 2's last two steps: [1, 3).
  const auto d = prepare(kRows, {"{type: drop_missing, columns: [rating]}", "{type: kcore, k_user: 3, k_item: 2}",
                                 "{type: standardize}", "{type: pad_truncate, max_len: 2}"});
  BOOST_TEST(
      d.report.lines ==
          (std::vector<std::string>{
              "prep_rows: 12 rows from ratings.csv",
              "drop_missing: 1 of 12 rows dropped (rating 1)",
              "kcore: k_user 3, k_item 2: 4 of 11 rows dropped in 2 passes; 2 users, 3 items left",
              "standardize: zscore on 1 dense feature(s), fitted on 3 training examples",
              "pad_truncate: 1 of 5 histories truncated to 2 (keep last)",
              "data: 5 examples (train 3, valid 0, test 2), seq_len 2, longest history 2, vocab 4; last per user test",
          }),
      fmt::format("{}", fmt::join(d.report.lines, "\n")));
  const auto& ex = d.examples;
  BOOST_TEST(ex.tokens == (I64s{1, 2, 3, 1, 1, 3, 2}));
  BOOST_TEST(ex.begin == (I64s{0, 0, 1, 4, 4}));
  BOOST_TEST(ex.end == (I64s{1, 2, 3, 5, 6}));
  BOOST_TEST(ex.users == (I64s{0, 0, 0, 1, 1}));
  BOOST_TEST(ex.label("next_item").ids == (I64s{2, 3, 1, 3, 2}));
  BOOST_TEST(d.splits.train == (I64s{0, 1, 3}));
  BOOST_TEST(d.splits.test == (I64s{2, 4}));
  BOOST_TEST(d.seq_len == 2);
  const double r14 = std::sqrt(14.0);
  const std::vector<double> want{5 / r14, -1 / r14, 2 / r14, -4 / r14, 8 / r14};
  for (std::size_t i = 0; i < 5; ++i)
    BOOST_TEST(std::abs(ex.dense[i] - want[i]) < 1e-6, "dense[" << i << "] = " << ex.dense[i]);
  BOOST_TEST_REQUIRE(d.fitted.size() == 1u);
  BOOST_TEST(d.fitted[0].first == "preprocess[2].standardize");
  BOOST_TEST(std::abs(d.fitted[0].second.at("mean")[0] - 7.0 / 3) < 1e-12);
  BOOST_TEST(std::abs(d.fitted[0].second.at("std")[0] - r14 / 3) < 1e-12);
  // Training next-item labels b, c, c.
  BOOST_TEST(d.item_counts == (std::vector<float>{0, 0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(item_counts_from_targets_or_shared_histories) {
  // All 12 rows: u1 a b c a (token positions 0-3), u2 a b c b (4-7), u3 a d c (8-10), u4 b (11);
  // a = 1, b = 2, c = 3, d = 4. Training examples: [0,1) [0,2) ->b,c | [4,5) [4,6) ->b,c | [8,9) ->d.
  // Targets of the training examples: b c b c d.
  const auto t = prepare("{type: prep_rows, path: ratings.csv, item_label: false, targets: true}", {});
  BOOST_TEST(t.item_counts == (std::vector<float>{0, 0, 2, 2, 1}));
  // Neither: the tokens of the union of the training histories, positions {0, 1, 4, 5, 8}: a b a b a
  // (counting each example's history would give a 5 times).
  const auto h = prepare("{type: prep_rows, path: ratings.csv, item_label: false}", {});
  BOOST_TEST(h.item_counts == (std::vector<float>{0, 3, 2, 0, 0}));
}

BOOST_AUTO_TEST_CASE(a_derived_column_becomes_a_label) {
  // No filtering: 8 examples; targets u1 b4 c2 a3 | u2 b- c1 b5 | u3 d4 c3 (u4 has one row: none).
  const auto d = prepare("{type: prep_rows, path: ratings.csv, label_col: liked}",
                         {"{type: derive_label, column: rating, name: liked, rule: threshold, threshold: 4}"});
  const auto& v = d.examples.label("label").values;
  BOOST_TEST_REQUIRE(v.size() == 8u);
  const std::vector<float> want{1, 0, 0, NAN, 0, 1, 1, 0};
  for (std::size_t i = 0; i < 8; ++i)
    BOOST_TEST((v[i] == want[i] || (std::isnan(v[i]) && std::isnan(want[i]))), "label " << i);
}

BOOST_AUTO_TEST_CASE(empty_training_split_after_filtering) {
  // implicit >= 4 keeps u1 a b, u2 a b, u3 d, u4 b: one example each for u1 and u2, both their
  // users' last: all test.
  expect_error<DataError>(
      [] { prepare(kRows, {"{type: implicit, threshold: 4}"}); },
      {"dataset 'prep_rows': the training split is empty after preprocessing (2 examples; valid 0, test 2)"});
  expect_error<DataError>([] { prepare(kRows, {"{type: kcore, k_user: 10}"}); },
                          {"training split is empty", "(0 examples"});
}

BOOST_AUTO_TEST_CASE(step_order_and_missing_table) {
  expect_error<DataError>(
      [] {
        prepare(kRows, {"{type: drop_missing}", "{type: standardize}", "{type: pad_truncate}", "{type: kcore}"});
      },
      {"preprocess[3] (kcore): a row step cannot follow example steps (preprocess[1] (standardize) comes earlier)"});
  expect_error<DataError>(
      [] { prepare(kMarker, {"{type: kcore}"}); },
      {"preprocess[0] (kcore): dataset 'marker' has no table", "row steps need a table-backed dataset"});
}

BOOST_AUTO_TEST_CASE(step_errors_name_the_step_and_its_index) {
  expect_error<DataError>(
      [] {
        prepare(kRows, {"{type: drop_missing}", "{type: outliers, column: stars}"});
      },
      {"preprocess[1] (outliers): no column 'stars'", "user, item, rating"});
  expect_error<DataError>([] { prepare(kRows, {"{type: implicit, threshold: 3, keep: all}"}); },
                          {"preprocess[0] (implicit): keep: all without a label"});
  expect_error<DataError>([] { prepare(kMarker, {"{type: standardize}"}); },
                          {"preprocess[0] (standardize): the examples have no dense features"});
  expect_error<registry::PluginError>(
      [] {
        core::Rng rng(1);
        data::prepare_data(config::PluginSpec<data::Dataset>("no_such_dataset"), {}, rng, "");
      },
      {"unknown dataset 'no_such_dataset'"});
}

BOOST_AUTO_TEST_CASE(long_histories_need_pad_truncate) {
  const std::string longer = "{type: marker, train: 1, valid: 1, test: 0, seq_len: 1100}";
  expect_error<DataError>([&] { prepare(longer, {}); },
                          {"dataset 'marker': the longest history has 1100 steps (> 1024)", "add a pad_truncate step"});
  BOOST_TEST(prepare(longer, {"{type: pad_truncate, max_len: 64}"}).seq_len == 64);
  BOOST_TEST(prepare("{type: marker, train: 1, valid: 1, test: 0, seq_len: 1024}", {}).seq_len == 1024);
}

BOOST_AUTO_TEST_CASE(bad_examples_and_splits_from_a_dataset) {
  expect_error<DataError>([] { prepare("{type: prep_bad, mode: token}", {}); },
                          {"dataset 'prep_bad': examples.tokens[2]: 9 is outside [0, vocab 3)"});
  expect_error<DataError>([] { prepare("{type: prep_bad, mode: split_range}", {}); },
                          {"dataset 'prep_bad': splits.test[0] = 2 is outside the 2 examples"});
  expect_error<DataError>([] { prepare("{type: prep_bad, mode: split_twice}", {}); },
                          {"example 0 is in splits.test and in an earlier split"});
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Examples::validate ---------------------------------------------------------------------------

namespace attnlab_pipeline_test {

/// Three valid examples using every field.
data::Examples full() {
  data::Examples ex;
  ex.tokens = {1, 2, 3, 4};
  ex.vocab = 5;
  ex.begin = {0, 1, 2};
  ex.end = {2, 4, 2};
  ex.users = {0, 1, 1};
  ex.num_users = 2;
  ex.targets = {4, 0, 1};
  ex.times = {1.0, 2.0, 3.0};
  ex.categorical_names = {"city"};
  ex.categorical_cardinality = {3};
  ex.categorical = {0, 2, 1};
  ex.dense_names = {"age", "income"};
  ex.dense = {1, 2, 3, 4, 5, 6};
  ex.labels.push_back({.task = "cls",
                       .kind = data::LabelKind::kClass,
                       .classes = 3,
                       .ids = {0, 2, -1},
                       .values = {},
                       .class_names = {"a", "b", "c"}});
  ex.labels.push_back({.task = "next", .kind = data::LabelKind::kItem, .classes = 5, .ids = {1, 4, -1}});
  ex.labels.push_back(
      {.task = "ctr", .kind = data::LabelKind::kBinary, .classes = 0, .ids = {}, .values = {0, 1, NAN}});
  ex.labels.push_back(
      {.task = "rate", .kind = data::LabelKind::kValue, .classes = 0, .ids = {}, .values = {-2.5f, 0, NAN}});
  ex.truth_offsets = {0, 1, 3, 3};
  ex.truth = {1, 0, 2};
  return ex;
}

/// Breaks a copy of full() with `edit` and expects validate("who") to name `parts`.
template <class F>
void broken(F edit, const std::vector<std::string>& parts) {
  auto ex = full();
  edit(ex);
  std::vector<std::string> all{"who: examples."};
  all.insert(all.end(), parts.begin(), parts.end());
  expect_error<DataError>([&] { ex.validate("who"); }, all);
}

}  // namespace attnlab_pipeline_test

BOOST_AUTO_TEST_SUITE(examples_validate)

BOOST_AUTO_TEST_CASE(valid_examples_pass) {
  full().validate("who");
  data::Examples empty;
  empty.validate("who");
  data::Examples steps;
  steps.step_dim = 3;
  steps.step_values.assign(6, 0.5f);
  steps.begin = {0};
  steps.end = {2};
  steps.validate("who");
  BOOST_TEST(std::string(data::name_of(data::LabelKind::kItem)) == "item");
  BOOST_TEST(std::string(data::name_of(data::LabelKind::kBinary)) == "binary");
  BOOST_TEST((full().label("ctr").kind == data::LabelKind::kBinary));
  expect_error<DataError>([] { full().label("click"); }, {"no task 'click'", "cls, next, ctr, rate"});
}

BOOST_AUTO_TEST_CASE(every_invariant_is_checked) {
  using E = data::Examples;
  broken([](E& e) { e.end.pop_back(); }, {"end: has 2 entries, expected 3"});
  broken([](E& e) { e.tokens[3] = 5; }, {"tokens[3]: 5 is outside [0, vocab 5)"});
  broken([](E& e) { e.tokens[0] = -1; }, {"tokens[0]: -1"});
  broken([](E& e) { e.begin[1] = 3, e.end[1] = 2; }, {"begin/end[1]: [3, 2)"});
  broken([](E& e) { e.end[1] = 5; }, {"begin/end[1]: [1, 5) is not a range within the 4 token positions"});
  broken([](E& e) { e.users[2] = 2; }, {"users[2]: 2 is outside [0, num_users 2)"});
  broken([](E& e) { e.users.pop_back(); }, {"users: has 2 entries, expected 0 or one per example (3)"});
  broken([](E& e) { e.targets[1] = 7; }, {"targets[1]: 7 is outside [0, vocab 5)"});
  broken([](E& e) { e.times.push_back(4); }, {"times: has 4 entries"});
  broken([](E& e) { e.categorical[1] = 3; }, {"categorical[1]: 3 (example 1, feature city) is outside [0, 3)"});
  broken([](E& e) { e.categorical_cardinality = {0}; }, {"categorical_cardinality[0]: 0 (city) must be >= 1"});
  broken([](E& e) { e.categorical.pop_back(); }, {"categorical: has 2 entries, expected 3"});
  broken([](E& e) { e.dense.pop_back(); }, {"dense: has 5 entries, expected 6 (3 examples x 2 features)"});
  broken([](E& e) { e.labels[0].ids[1] = 3; }, {"labels[0] (cls).ids[1]: 3 is outside [0, classes 3)"});
  broken([](E& e) { e.labels[0].ids[0] = -2; }, {"labels[0] (cls).ids[0]: -2"});
  broken([](E& e) { e.labels[1].ids[0] = 0; }, {"labels[1] (next).ids[0]: 0 is outside [1, classes 5)"});
  broken([](E& e) { e.labels[2].values[0] = 0.5f; }, {"labels[2] (ctr).values[0]: 0.5 is not 0 or 1"});
  broken([](E& e) { e.labels[3].values[1] = INFINITY; }, {"labels[3] (rate).values[1]: inf is not a finite number"});
  broken([](E& e) { e.labels[3].values.pop_back(); }, {"labels[3] (rate).values: has 2 entries"});
  broken([](E& e) { e.labels[0].class_names.pop_back(); }, {"labels[0] (cls).class_names: has 2 entries, expected 3"});
  broken([](E& e) { e.labels[1].task = "cls"; }, {"labels[1] (cls): repeats a task name"});
  broken([](E& e) { e.truth_offsets = {0, 2, 1, 3}; }, {"truth_offsets[2]: 1 is below truth_offsets[1] = 2"});
  broken([](E& e) { e.truth_offsets = {0, 1, 3}; }, {"truth_offsets: has 3 entries, expected 4"});
  broken([](E& e) { e.truth.push_back(0); }, {"truth_offsets[3]: 3 differs from the 4 truth entries"});
  broken([](E& e) { e.truth[0] = 2; }, {"truth[0]: 2 (example 0) is outside its history [0, 2)"});
  broken([](E& e) { e.truth_offsets.clear(); }, {"truth: has 3 entries but truth_offsets is empty"});
  broken([](E& e) { e.step_dim = 4, e.step_values.assign(6, 0.0f); },
         {"step_values: has 6 values, not a multiple of step_dim 4"});
}

BOOST_AUTO_TEST_SUITE_END()
