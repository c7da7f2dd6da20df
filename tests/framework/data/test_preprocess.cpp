// Preprocessing steps (plugins/preprocess/*) one by one, on tiny hand-made tables and examples,
// with the expected values computed by hand in the comments.
#include "framework/config/value.h"
#include "framework/data/dataset.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

namespace attnlab_preprocess_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using data::Column;
using data::DataError;
using data::Table;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A step from its YAML config, through the registry as a spec would build it.
std::unique_ptr<data::Preprocess> step(const std::string& yaml) {
  config::PluginSpec<data::Preprocess> spec;
  config::Problems problems;
  config::bind_value(config::parse(yaml, "test"), "preprocess[0]", problems, spec);
  problems.check();
  return registry::create(spec, data::Preprocess::Context{});
}

Column num(const std::string& name, std::vector<double> v) {
  Column c;
  c.name = name;
  c.numeric = true;
  c.num = std::move(v);
  return c;
}
Column text(const std::string& name, std::vector<std::string> v) {
  Column c;
  c.name = name;
  c.str = std::move(v);
  return c;
}
/// Rows numbered as lines 2, 3, ... of "t.csv" (line 1 the header).
Table table(std::vector<Column> cols) {
  Table t;
  t.source = "t.csv";
  t.columns = std::move(cols);
  const auto n = t.columns.front().numeric ? t.columns.front().num.size() : t.columns.front().str.size();
  for (std::size_t r = 0; r < n; ++r) t.line.push_back(static_cast<std::int64_t>(r) + 2);
  return t;
}
std::vector<double> values(const Table& t, const std::string& name) { return t.column(name, "test").num; }
std::vector<std::string> texts(const Table& t, const std::string& name) { return t.column(name, "test").str; }

/// Applies a row step; returns its single report line.
std::string run_rows(const std::string& yaml, Table& t) {
  auto s = step(yaml);
  BOOST_TEST((s->stage() == data::Preprocess::Stage::kRows));
  data::DataReport report;
  s->apply_rows(t, report);
  BOOST_TEST_REQUIRE(report.lines.size() == 1u);
  return report.lines[0];
}

bool same(const std::vector<double>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i])) || std::abs(got[i] - want[i]) < 1e-9))
      return false;
  return true;
}

}  // namespace attnlab_preprocess_test

using namespace attnlab_preprocess_test;

BOOST_AUTO_TEST_SUITE(preprocess_rows)

BOOST_AUTO_TEST_CASE(drop_missing_all_columns_and_listed_columns) {
  const double inf = std::numeric_limits<double>::infinity();
  auto make = [&] {
    return table({text("user", {"u1", "", "u2", "u3", "u4"}), num("rating", {4, 3, kNaN, inf, 5}),
                  text("note", {"a", "b", "", "c", ""})});
  };
  Table all = make();
  // Row 1 lacks user, row 2 rating and note, row 3 has an infinite rating, row 4 lacks note.
  BOOST_TEST(run_rows("{type: drop_missing}", all) == "drop_missing: 4 of 5 rows dropped (user 1, rating 2, note 2)");
  BOOST_TEST(texts(all, "user") == (std::vector<std::string>{"u1"}));
  BOOST_TEST(all.line == (std::vector<std::int64_t>{2}));

  Table some = make();
  BOOST_TEST(run_rows("{type: drop_missing, columns: [user, rating]}", some) ==
             "drop_missing: 3 of 5 rows dropped (user 1, rating 2)");
  BOOST_TEST(texts(some, "user") == (std::vector<std::string>{"u1", "u4"}));
  BOOST_TEST(texts(some, "note") == (std::vector<std::string>{"a", ""}));
  BOOST_TEST(some.line == (std::vector<std::int64_t>{2, 6}));

  Table clean = table({num("x", {1, 2})});
  BOOST_TEST(run_rows("{type: drop_missing}", clean) == "drop_missing: 0 of 2 rows dropped");

  Table t = make();
  expect_error<DataError>([&] { run_rows("{type: drop_missing, columns: [ratng]}", t); },
                          {"preprocess drop_missing", "no column 'ratng'", "user, rating, note"});
}

BOOST_AUTO_TEST_CASE(outliers_zscore_uses_the_population_std) {
  // x = 1 2 3 4 100, NaN: mean 22, deviations -21 -20 -19 -18 78, sum of squares 7610,
  // population std sqrt(1522) = 39.0128 (sample std 43.617). z(100) = 78 / 39.0128 = 1.9993:
  // beyond 1.9 with the population std (not with the sample std, 1.788).
  Table t = table({num("x", {1, 2, 3, 4, 100, kNaN})});
  const auto line = run_rows("{type: outliers, column: x, threshold: 1.9}", t);
  BOOST_TEST(same(values(t, "x"), {1, 2, 3, 4, kNaN}));  // NaN rows are kept
  BOOST_TEST(line.starts_with("outliers: x zscore 1.9: 1 of 6 rows dropped (kept [-52.12"), line);

  Table keep = table({num("x", {1, 2, 3, 4, 100})});
  run_rows("{type: outliers, column: x}", keep);  // default threshold 3: z 1.9993 stays
  BOOST_TEST(keep.rows() == 5);

  Table constant = table({num("x", {7, 7, 7})});
  BOOST_TEST(run_rows("{type: outliers, column: x}", constant).find("0 of 3 rows dropped") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(outliers_iqr_interpolates_the_quartiles) {
  // Sorted: -8 1 2 3 4 5 6 10 (n 8). Q1 at h = 0.25 * 7 = 1.75: 1 + 0.75 * (2 - 1) = 1.75;
  // Q3 at h = 5.25: 5 + 0.25 * (6 - 5) = 5.25; IQR 3.5.
  // threshold 1.5: fences [1.75 - 5.25, 5.25 + 5.25] = [-3.5, 10.5]: -8 goes, 10 stays.
  // threshold 1.0: [-1.75, 8.75]: both go.
  const std::vector<double> x{10, 1, 2, 3, 4, 5, 6, -8};
  Table t = table({num("x", x), text("id", {"a", "b", "c", "d", "e", "f", "g", "h"})});
  BOOST_TEST(run_rows("{type: outliers, column: x, method: iqr}", t) ==
             "outliers: x iqr 1.5: 1 of 8 rows dropped (kept [-3.5, 10.5])");
  BOOST_TEST(texts(t, "id") == (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));

  Table t1 = table({num("x", x)});
  BOOST_TEST(run_rows("{type: outliers, column: x, method: iqr, threshold: 1.0}", t1) ==
             "outliers: x iqr 1: 2 of 8 rows dropped (kept [-1.75, 8.75])");
  BOOST_TEST(same(values(t1, "x"), {1, 2, 3, 4, 5, 6}));
}

BOOST_AUTO_TEST_CASE(outliers_errors) {
  Table t = table({text("name", {"a"}), num("x", {1})});
  expect_error<DataError>([&] { run_rows("{type: outliers, column: name}", t); },
                          {"preprocess outliers", "'name' holds text"});
  expect_error<DataError>([&] { run_rows("{type: outliers, column: y}", t); },
                          {"preprocess outliers", "no column 'y'", "name, x"});
}

BOOST_AUTO_TEST_CASE(kcore_iterates_to_the_fixed_point) {
  // k_user 2, k_item 2. Counts: users 1:2 2:2 3:2; items a:3 b:2 c:1.
  // Pass 1 drops (3, c) (item c has 1 row); user 3 is left with 1 row.
  // Pass 2 drops (3, a); item a keeps 2 rows. Pass 3 drops nothing.
  Table t = table({num("user", {1, 1, 2, 2, 3, 3}), text("item", {"a", "b", "a", "b", "a", "c"})});
  BOOST_TEST(run_rows("{type: kcore, k_user: 2, k_item: 2}", t) ==
             "kcore: k_user 2, k_item 2: 2 of 6 rows dropped in 2 passes; 2 users, 2 items left");
  BOOST_TEST(same(values(t, "user"), {1, 1, 2, 2}));
  BOOST_TEST(texts(t, "item") == (std::vector<std::string>{"a", "b", "a", "b"}));
  BOOST_TEST(t.line == (std::vector<std::int64_t>{2, 3, 4, 5}));
}

BOOST_AUTO_TEST_CASE(kcore_can_empty_the_table_and_names_bad_columns) {
  Table t = table({text("u", {"x", "y"}), text("i", {"a", "a"})});
  BOOST_TEST(run_rows("{type: kcore, user_col: u, item_col: i, k_user: 2, k_item: 1}", t) ==
             "kcore: k_user 2, k_item 1: 2 of 2 rows dropped in 1 passes; 0 users, 0 items left");
  BOOST_TEST(t.rows() == 0);

  Table m = table({text("user", {"x", ""}), text("item", {"a", "a"})});
  expect_error<DataError>([&] { run_rows("{type: kcore}", m); },
                          {"preprocess kcore", "t.csv:3", "column 'user' has no value", "drop_missing"});
  Table c = table({text("user", {"x"}), text("product", {"a"})});
  expect_error<DataError>([&] { run_rows("{type: kcore}", c); },
                          {"preprocess kcore", "no column 'item'", "user, product"});
}

BOOST_AUTO_TEST_CASE(implicit_keeps_positives_or_marks_them) {
  Table above = table({num("rating", {5, 3, kNaN, 4, 1}), text("item", {"a", "b", "c", "d", "e"})});
  BOOST_TEST(run_rows("{type: implicit, threshold: 4}", above) ==
             "implicit: rating >= 4: 2 of 5 rows positive, 3 dropped");
  BOOST_TEST(texts(above, "item") == (std::vector<std::string>{"a", "d"}));

  Table all = table({num("stars", {5, 3, kNaN, 4, 1})});
  BOOST_TEST(run_rows("{type: implicit, column: stars, threshold: 4, keep: all, label: click}", all) ==
             "implicit: stars >= 4: 2 of 5 rows positive; label column 'click' added");
  BOOST_TEST(same(values(all, "click"), {1, 0, kNaN, 1, 0}));
  BOOST_TEST(all.rows() == 5);

  Table both = table({num("rating", {5, 3})});
  run_rows("{type: implicit, threshold: 4, label: pos}", both);
  BOOST_TEST(same(values(both, "pos"), {1}));

  expect_error<DataError>([] { step("{type: implicit, threshold: 4, keep: all}"); },
                          {"preprocess implicit", "keep: all without a label"});
  Table dup = table({num("rating", {5}), num("click", {1})});
  expect_error<DataError>([&] { run_rows("{type: implicit, threshold: 4, label: click}", dup); },
                          {"'click' already exists"});
  Table txt = table({text("rating", {"good"})});
  expect_error<DataError>([&] { run_rows("{type: implicit, threshold: 4}", txt); }, {"'rating' holds text"});
}

BOOST_AUTO_TEST_CASE(derive_label_rules) {
  Table t = table({text("income", {">50K", "<=50K", "", ">50K."}), num("stars", {3, 4, kNaN, 5})});
  BOOST_TEST(run_rows("{type: derive_label, column: income, name: rich, rule: in, values: ['>50K', '>50K.']}", t) ==
             "derive_label: 'rich' = income in [>50K, >50K.]: 2 of 4 rows 1, 1 missing");
  BOOST_TEST(same(values(t, "rich"), {1, 0, kNaN, 1}));
  run_rows("{type: derive_label, column: stars, name: four, values: ['4']}", t);  // equals, numerically
  BOOST_TEST(same(values(t, "four"), {0, 1, kNaN, 0}));
  BOOST_TEST(run_rows("{type: derive_label, column: stars, name: good, rule: threshold, threshold: 4}", t) ==
             "derive_label: 'good' = stars >= 4: 2 of 4 rows 1, 1 missing");
  BOOST_TEST(same(values(t, "good"), {0, 1, kNaN, 1}));

  expect_error<DataError>([] { step("{type: derive_label, column: a, name: b, values: [x, y]}"); },
                          {"equals needs exactly one"});
  expect_error<DataError>([] { step("{type: derive_label, column: a, name: b, rule: threshold}"); },
                          {"threshold needs threshold"});
  expect_error<DataError>(
      [&] { run_rows("{type: derive_label, column: income, name: x, rule: threshold, threshold: 1}", t); },
      {"needs a numeric column", "'income' holds text"});
  expect_error<DataError>([&] { run_rows("{type: derive_label, column: stars, name: x, values: [four]}", t); },
                          {"'four' is not a number", "'stars' is numeric"});
  expect_error<DataError>([&] { run_rows("{type: derive_label, column: stars, name: rich, values: ['1']}", t); },
                          {"'rich' already exists"});
  expect_error<DataError>([&] { run_rows("{type: derive_label, column: nope, name: z, values: ['1']}", t); },
                          {"no column 'nope'", "income, stars, rich, four, good"});
}

BOOST_AUTO_TEST_SUITE_END()

namespace attnlab_preprocess_test {

/// Four examples with dense features age and income; train = {0, 1}, valid = {2}, test = {3}.
data::Examples dense_examples() {
  data::Examples ex;
  ex.tokens = {1, 2};
  ex.vocab = 3;
  ex.begin = {0, 0, 1, 0};
  ex.end = {1, 2, 2, 2};
  ex.dense_names = {"age", "income"};
  ex.dense = {1,   5,  //
              3,   5,  //
              100, 9,  //
              7,   0};
  return ex;
}
const data::Splits kSplits{{0, 1}, {2}, {3}};

std::vector<float> column(const data::Examples& ex, std::size_t j) {
  std::vector<float> r;
  for (std::int64_t i = 0; i < ex.size(); ++i) r.push_back(ex.dense[static_cast<std::size_t>(i * ex.num_dense()) + j]);
  return r;
}

}  // namespace attnlab_preprocess_test

BOOST_AUTO_TEST_SUITE(preprocess_examples)

BOOST_AUTO_TEST_CASE(standardize_zscore_is_fitted_on_train_only) {
  // Train rows 0, 1: age 1, 3 -> mean 2, std 1; income 5, 5 -> mean 5, std 0 (constant: centred).
  // Fitting on every row would give age mean 27.75.
  auto ex = dense_examples();
  auto s = step("{type: standardize}");
  BOOST_TEST((s->stage() == data::Preprocess::Stage::kExamples));
  data::DataReport report;
  s->apply_examples(ex, kSplits, report);
  BOOST_TEST(column(ex, 0) == (std::vector<float>{-1, 1, 98, 5}));
  BOOST_TEST(column(ex, 1) == (std::vector<float>{0, 0, 4, -5}));
  const auto f = s->fitted();
  BOOST_TEST(f.at("mean") == (std::vector<double>{2, 5}));
  BOOST_TEST(f.at("std") == (std::vector<double>{1, 0}));
  BOOST_TEST(f.at("feature_index") == (std::vector<double>{0, 1}));
  BOOST_TEST(report.lines ==
             (std::vector<std::string>{"standardize: zscore on 2 dense feature(s), fitted on 2 training examples"}));
}

BOOST_AUTO_TEST_CASE(standardize_minmax_selected_features_and_nan) {
  auto ex = dense_examples();
  data::DataReport report;
  auto s = step("{type: standardize, method: minmax}");
  s->apply_examples(ex, kSplits, report);
  BOOST_TEST(column(ex, 0) == (std::vector<float>{0, 1, 49.5f, 3}));  // (x - 1) / 2
  BOOST_TEST(column(ex, 1) == (std::vector<float>{0, 0, 4, -5}));     // constant on train: x - 5
  BOOST_TEST(s->fitted().at("min") == (std::vector<double>{1, 5}));
  BOOST_TEST(s->fitted().at("max") == (std::vector<double>{3, 5}));

  auto only = dense_examples();
  only.dense[3] = std::numeric_limits<float>::quiet_NaN();  // row 1 income: skipped by the fit, stays NaN
  auto s2 = step("{type: standardize, features: [income]}");
  s2->apply_examples(only, data::Splits{{0, 1, 3}, {}, {2}}, report);  // income on train: 5, 0 -> mean 2.5, std 2.5
  BOOST_TEST(column(only, 0) == (std::vector<float>{1, 3, 100, 7}));
  const auto inc = column(only, 1);
  BOOST_TEST(inc[0] == 1.0f);
  BOOST_TEST(std::isnan(inc[1]));
  BOOST_TEST(inc[2] == 2.6f);
  BOOST_TEST(inc[3] == -1.0f);
  BOOST_TEST(s2->fitted().at("feature_index") == (std::vector<double>{1}));
}

BOOST_AUTO_TEST_CASE(standardize_errors) {
  data::DataReport report;
  auto ex = dense_examples();
  expect_error<DataError>([&] { step("{type: standardize, features: [agee]}")->apply_examples(ex, kSplits, report); },
                          {"preprocess standardize", "no dense feature 'agee'", "age, income"});
  expect_error<DataError>(
      [&] { step("{type: standardize, features: [age, age]}")->apply_examples(ex, kSplits, report); },
      {"listed twice"});
  expect_error<DataError>(
      [&] {
        step("{type: standardize}")->apply_examples(ex, data::Splits{{}, {0}, {1}}, report);
      },
      {"training split is empty"});
  data::Examples none;
  expect_error<DataError>([&] { step("{type: standardize}")->apply_examples(none, kSplits, report); },
                          {"no dense features"});
}

BOOST_AUTO_TEST_CASE(pad_truncate_keeps_the_last_or_first_steps_and_moves_the_truth) {
  // Histories: 0 = [0, 3), 1 = [0, 6), 2 = [2, 10); truth offsets {0, 2}, {1, 3, 4}, {0, 7}.
  auto make = [] {
    data::Examples ex;
    ex.tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ex.vocab = 11;
    ex.begin = {0, 0, 2};
    ex.end = {3, 6, 10};
    ex.truth_offsets = {0, 2, 5, 7};
    ex.truth = {0, 2, 1, 3, 4, 0, 7};
    return ex;
  };
  data::DataReport report;
  auto last = make();
  auto s = step("{type: pad_truncate, max_len: 4}");
  BOOST_TEST(s->max_len() == 4);
  s->apply_examples(last, {}, report);
  // keep last: 1 -> [2, 6) (shift 2: 1 drops, 3 -> 1, 4 -> 2); 2 -> [6, 10) (shift 4: 0 drops, 7 -> 3).
  BOOST_TEST(last.begin == (std::vector<std::int64_t>{0, 2, 6}));
  BOOST_TEST(last.end == (std::vector<std::int64_t>{3, 6, 10}));
  BOOST_TEST(last.truth == (std::vector<std::int64_t>{0, 2, 1, 2, 3}));
  BOOST_TEST(last.truth_offsets == (std::vector<std::int64_t>{0, 2, 4, 5}));
  BOOST_TEST(last.tokens.size() == 10u);

  auto first = make();
  step("{type: pad_truncate, max_len: 4, keep: first}")->apply_examples(first, {}, report);
  // keep first: 1 -> [0, 4) (4, one past the window, drops); 2 -> [2, 6) (7 drops).
  BOOST_TEST(first.begin == (std::vector<std::int64_t>{0, 0, 2}));
  BOOST_TEST(first.end == (std::vector<std::int64_t>{3, 4, 6}));
  BOOST_TEST(first.truth == (std::vector<std::int64_t>{0, 2, 1, 3, 0}));
  BOOST_TEST(first.truth_offsets == (std::vector<std::int64_t>{0, 2, 4, 5}));
  BOOST_TEST(report.lines ==
             (std::vector<std::string>{
                 "pad_truncate: 2 of 3 histories truncated to 4 (keep last), 2 truth positions dropped",
                 "pad_truncate: 2 of 3 histories truncated to 4 (keep first), 2 truth positions dropped"}));

  auto plain = make();
  plain.truth_offsets.clear();
  plain.truth.clear();
  step("{type: pad_truncate, max_len: 10}")->apply_examples(plain, {}, report);
  BOOST_TEST(report.lines.back() == "pad_truncate: 0 of 3 histories truncated to 10 (keep last)");
  BOOST_TEST(plain.begin == (std::vector<std::int64_t>{0, 0, 2}));
}

BOOST_AUTO_TEST_CASE(config_bounds_are_checked_by_the_registry) {
  expect_error<config::ConfigError>([] { step("{type: pad_truncate, max_len: 0}"); }, {"max_len"});
  expect_error<config::ConfigError>([] { step("{type: outliers, column: x, method: mad}"); }, {"method"});
  expect_error<config::ConfigError>([] { step("{type: implicit}"); }, {"threshold"});
}

BOOST_AUTO_TEST_SUITE_END()
