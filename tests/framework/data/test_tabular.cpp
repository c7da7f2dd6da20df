// dataset/tabular on tiny hand-made files (a UCI Adult-format excerpt with its test file, and a
// small CSV with a header), answers worked out by hand.
#include "framework/config/value.h"
#include "framework/core/rng.h"
#include "plugins/dataset/tabular/tabular.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <map>
#include <set>

using namespace attnlab;
using namespace attnlab::data;
using attnlab::plugins::TabularConfig;
using attnlab::plugins::TabularDataset;
using attnlab::plugins::TabularTask;
using V = std::vector<std::int64_t>;
using F = std::vector<float>;

namespace {

const std::string kFiles = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/files";

TabularConfig adult_config() {
  TabularConfig c;
  c.path = "adult_tiny.data";
  c.test_path = "adult_tiny.test";
  c.header = false;
  c.names = {"age",          "workclass", "fnlwgt", "education",    "education-num", "marital-status", "occupation",
             "relationship", "race",      "sex",    "capital-gain", "capital-loss",  "hours-per-week", "native-country",
             "income"};
  c.comment = "|";
  c.categorical = {"workclass", "sex"};
  c.numeric = {"age", "hours-per-week"};
  TabularTask income{.name = "income",
                     .column = "income",
                     .kind = "binary",
                     .positive = {">50K"},
                     .negative = {"<=50K"},
                     .strip = "."};
  TabularTask marital{.name = "marital", .column = "marital-status", .kind = "class"};
  c.tasks = {income, marital};
  c.valid = 0.0;
  c.seed = 3;
  return c;
}

TabularConfig shop_config() {
  TabularConfig c;
  c.path = "shop.csv";
  c.categorical = {"color", "size"};
  c.numeric = {"price"};
  c.tasks = {TabularTask{.name = "rating", .column = "rating"},
             TabularTask{.name = "label", .column = "label", .kind = "binary", .positive = {"yes"}}};
  c.train = 0.6;
  c.valid = 0.2;
  c.seed = 5;
  c.impute = "mean";  // line 4 has no price
  return c;
}

Built load_and_build(const TabularConfig& c, DataReport* report_out = nullptr) {
  core::Rng rng(1);
  TabularDataset d(c, {.rng = &rng, .base_dir = kFiles});
  DataReport report;
  Built b = d.build(d.load(report), report);
  if (report_out) *report_out = report;
  return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_tabular)

BOOST_AUTO_TEST_CASE(uci_adult_format_with_a_test_file_by_hand) {
  DataReport report;
  const Built b = load_and_build(adult_config(), &report);
  const Examples& ex = b.examples;
  BOOST_TEST(ex.size() == 17);  // 12 train-file rows, 5 test-file rows (comment line and empty lines skipped)
  BOOST_TEST(b.splits.train == (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), boost::test_tools::per_element());
  BOOST_TEST(b.splits.valid.empty());
  BOOST_TEST(b.splits.test == (V{12, 13, 14, 15, 16}), boost::test_tools::per_element());
  BOOST_TEST(b.protocol.starts_with("test file adult_tiny.test"), b.protocol);

  // workclass codes by first appearance in train: State-gov 1, Self-emp-not-inc 2, Private 3;
  // '?' (missing) and Local-gov (only in the test file) → 0. sex: Male 1, Female 2.
  BOOST_TEST(ex.categorical_names == (std::vector<std::string>{"workclass", "sex"}), boost::test_tools::per_element());
  BOOST_TEST(ex.categorical_cardinality == (V{4, 3}), boost::test_tools::per_element());
  BOOST_TEST(ex.categorical == (V{1, 1, 2, 1, 3, 1, 3, 1, 3, 2, 3, 2, 3, 2, 2, 1, 3, 2, 3, 1, 0, 1, 1, 1,  //
                                  3, 1, 3, 1, 0, 1, 3, 1, 0, 2}),
             boost::test_tools::per_element());
  // tokens: workclass 1 + code, sex 1 + 4 + code
  BOOST_TEST(ex.vocab == 8);
  BOOST_TEST(ex.tokens == (V{2, 6, 3, 6, 4, 6, 4, 6, 4, 7, 4, 7, 4, 7, 3, 6, 4, 7, 4, 6, 1, 6, 2, 6,  //
                             4, 6, 4, 6, 1, 6, 4, 6, 1, 7}),
             boost::test_tools::per_element());
  BOOST_TEST(ex.begin[5] == 10);
  BOOST_TEST(ex.end[5] == 12);
  BOOST_TEST(ex.dense_names == (std::vector<std::string>{"age", "hours-per-week"}), boost::test_tools::per_element());
  BOOST_TEST(
      ex.dense == (F{39, 40, 50, 13, 38, 40, 53, 40, 28, 40, 37, 40, 49, 16, 52, 45, 31, 50, 42, 40, 54, 60, 30, 40,  //
                     25, 40, 38, 50, 28, 40, 44, 40, 18, 30}),
      boost::test_tools::per_element());

  BOOST_REQUIRE(ex.labels.size() == 2u);
  BOOST_TEST(ex.labels[0].task == "income");
  BOOST_TEST((ex.labels[0].kind == LabelKind::kBinary));
  BOOST_TEST(ex.labels[0].values == (F{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST((ex.labels[1].kind == LabelKind::kClass));
  BOOST_TEST(ex.labels[1].classes == 4);
  BOOST_TEST(ex.labels[1].class_names ==
                 (std::vector<std::string>{"Divorced", "Married-civ-spouse", "Married-spouse-absent", "Never-married"}),
             boost::test_tools::per_element());
  BOOST_TEST(ex.labels[1].ids == (V{3, 1, 0, 1, 1, 1, 2, 1, 3, 1, 1, 1, 3, 1, 1, 1, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(ex.users.empty());
  BOOST_REQUIRE(!report.lines.empty());
  BOOST_TEST(report.lines.back().find("1 unseen categorical values coded 0") != std::string::npos, report.lines.back());
}

BOOST_AUTO_TEST_CASE(valid_is_carved_from_the_training_file) {
  TabularConfig c = adult_config();
  c.valid = 0.25;
  const Built b = load_and_build(c);
  BOOST_TEST(b.splits.train.size() == 9u);
  BOOST_TEST(b.splits.valid.size() == 3u);
  BOOST_TEST(b.splits.test == (V{12, 13, 14, 15, 16}), boost::test_tools::per_element());
  for (auto i : b.splits.valid) BOOST_TEST(i < 12);
  std::set<std::int64_t> all(b.splits.train.begin(), b.splits.train.end());
  all.insert(b.splits.valid.begin(), b.splits.valid.end());
  BOOST_TEST(all.size() == 12u);
  BOOST_TEST(std::is_sorted(b.splits.train.begin(), b.splits.train.end()));
}

BOOST_AUTO_TEST_CASE(random_split_codes_from_train_only_and_label_kinds) {
  const Built b = load_and_build(shop_config());
  const Examples& ex = b.examples;
  BOOST_TEST(b.splits.train.size() == 6u);
  BOOST_TEST(b.splits.valid.size() == 2u);
  BOOST_TEST(b.splits.test.size() == 2u);
  BOOST_TEST(b.protocol == "random 0.6/0.2/0.2 seed 5");
  // Codes: 1.. by first appearance among the training rows; a value absent from them → 0.
  const std::vector<std::vector<std::string>> column{
      {"red", "blue", "red", "green", "blue", "red", "black", "red", "blue", "white"},
      {"S", "M", "L", "S", "M", "S", "XL", "M", "L", "S"}};
  for (std::size_t f = 0; f < 2; ++f) {
    std::map<std::string, std::int64_t> expected;
    for (auto r : b.splits.train)
      expected.try_emplace(column[f][static_cast<std::size_t>(r)], static_cast<std::int64_t>(expected.size()) + 1);
    BOOST_TEST(ex.categorical_cardinality[f] == static_cast<std::int64_t>(expected.size()) + 1);
    for (std::size_t r = 0; r < 10; ++r) {
      const auto it = expected.find(column[f][r]);
      BOOST_TEST(ex.categorical[r * 2 + f] == (it == expected.end() ? 0 : it->second));
    }
  }
  // dense price; its missing value filled with the training rows' mean price
  const std::vector<double> price{1.5, 2.5, NAN, 4.0, 5.5, 6.0, 7.5, 8.0, 9.5, 10.0};
  double sum = 0;
  int count = 0;
  for (auto r : b.splits.train)
    if (!std::isnan(price[static_cast<std::size_t>(r)])) sum += price[static_cast<std::size_t>(r)], ++count;
  BOOST_TEST(ex.dense[0] == 1.5f);
  BOOST_TEST(ex.dense[2] == static_cast<float>(sum / count));
  BOOST_TEST(ex.dense[2] != 0.0f);
  // class labels of numbers sort numerically: 1, 2, 10
  BOOST_TEST(ex.labels[0].class_names == (std::vector<std::string>{"1", "2", "10"}), boost::test_tools::per_element());
  BOOST_TEST(ex.labels[0].ids == (V{1, 2, 0, 1, 2, 0, 1, 2, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(ex.labels[1].values == (F{1, 0, 1, 0, 0, 1, 0, 1, 0, 1}), boost::test_tools::per_element());

  // a value task, explicit classes, no tokens
  TabularConfig c = shop_config();
  c.numeric = {};
  c.tokens = false;
  c.tasks = {TabularTask{.name = "price", .column = "price", .kind = "value"},
             TabularTask{.name = "rating", .column = "rating", .classes = {"10", "2", "1"}}};
  const Built v = load_and_build(c);
  BOOST_TEST((v.examples.labels[0].kind == LabelKind::kValue));
  BOOST_TEST(v.examples.labels[0].values[9] == 10.0f);
  BOOST_TEST(std::isnan(v.examples.labels[0].values[2]));
  BOOST_TEST(v.examples.labels[1].ids == (V{1, 0, 2, 1, 0, 2, 1, 0, 2, 1}), boost::test_tools::per_element());
  BOOST_TEST(v.examples.tokens.empty());
  BOOST_TEST(v.examples.end == V(10, 0), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_split_seed_comes_from_the_trial_rng_when_absent) {
  TabularConfig c = shop_config();
  c.seed.reset();
  core::Rng r1(11), r2(11), r3(12);
  DataReport report;
  TabularDataset a(c, {.rng = &r1, .base_dir = kFiles}), b(c, {.rng = &r2, .base_dir = kFiles}),
      d(c, {.rng = &r3, .base_dir = kFiles});
  const auto sa = a.build(a.load(report), report), sb = b.build(b.load(report), report),
             sd = d.build(d.load(report), report);
  BOOST_TEST(sa.splits.train == sb.splits.train, boost::test_tools::per_element());
  BOOST_TEST(sa.protocol == sb.protocol);
  BOOST_TEST(sa.protocol != sd.protocol);
}

BOOST_AUTO_TEST_CASE(errors) {
  core::Rng rng(1);
  const Dataset::Context ctx{.rng = &rng, .base_dir = kFiles};
  DataReport report;
  TabularConfig c = shop_config();
  c.path = "nope.csv";
  testing::expect_error<attnlab::config::PathError>([&] { TabularDataset(c, ctx).load(report); },
                                                    {"path: no such file: " + kFiles + "/nope.csv"});

  c = shop_config();
  c.categorical = {"colour"};
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx).load(report); },
                                   {"'colour'", "does not exist", "columns: id, color, size, price, rating, label"});

  c = shop_config();
  c.categorical = {"color", "label"};
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx); }, {"column 'label' is used twice", "task 'label'"});
  c = shop_config();
  c.tasks[1].positive = {};
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx); }, {"task 'label' (binary) needs `positive`"});
  c = shop_config();
  c.tasks = {};
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx); }, {"no tasks"});

  // label value out of range: a class outside the given classes, at its line
  c = shop_config();
  c.tasks[0].classes = {"1", "2"};
  testing::expect_error<DataError>([&] { load_and_build(c); },
                                   {"shop.csv:3: task 'rating'", "value '10' is not one of: 1, 2"});

  // ...and in a separate test file, at that file's line (not the training file's name)
  c = adult_config();
  c.test_path = "adult_bad_label.test";
  testing::expect_error<DataError>([&] { load_and_build(c); },
                                   {"adult_bad_label.test:4: task 'income'", "value 'maybe' is not one of"});

  // a missing numeric feature: an error at its line unless imputed; impute: zero fills 0
  c = shop_config();
  c.impute = "none";
  testing::expect_error<DataError>([&] { load_and_build(c); },
                                   {"shop.csv:4: numeric feature 'price' is missing", "impute: mean", "drop_missing"});
  c.impute = "zero";
  BOOST_TEST(load_and_build(c).examples.dense[2] == 0.0f);

  // 'nan' and 'inf' are numbers only in name: an error at their line, or rows dropped
  c = shop_config();
  c.path = "nan_price.csv";
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx).load(report); },
                                   {"nan_price.csv:3: column 'price': 'nan' is not a finite number"});
  c.on_error = "drop";
  DataReport nan_dropped;
  BOOST_TEST(TabularDataset(c, ctx).load(nan_dropped).rows() == 2);
  BOOST_TEST(nan_dropped.warnings.size() == 1u);
  c.missing = {"", "nan", "inf"};  // read as missing instead
  c.on_error = "fail";
  BOOST_TEST(TabularDataset(c, ctx).load(report).rows() == 4);

  // empty after filtering
  c = shop_config();
  TabularDataset d(c, ctx);
  Table t = d.load(report);
  t.filter(std::vector<std::uint8_t>(static_cast<std::size_t>(t.rows()), 0));
  testing::expect_error<DataError>([&] { d.build(t, report); }, {"dataset tabular: no examples"});

  // malformed rows: fail at the first, or drop and count them; then a label out of range
  c = adult_config();
  c.path = "adult_bad.data";
  c.test_path = "";
  testing::expect_error<DataError>([&] { TabularDataset(c, ctx).load(report); },
                                   {"adult_bad.data:2: expected 15 fields, got 14"});
  c.on_error = "drop";
  DataReport dropped;
  TabularDataset bad(c, ctx);
  Table rows = bad.load(dropped);
  BOOST_TEST(rows.rows() == 3);
  BOOST_REQUIRE(dropped.lines.size() == 1u);
  BOOST_TEST(
      dropped.lines[0].find(
          "adult_bad.data: 2 malformed rows dropped (on_error: drop; first: line 2: expected 15 fields, got 14)") !=
          std::string::npos,
      dropped.lines[0]);
  testing::expect_error<DataError>(
      [&] { bad.build(rows, dropped); },
      {"adult_bad.data:5: task 'income'", "value 'maybe' is not one of: >50K (positive), <=50K (negative)"});
}

BOOST_AUTO_TEST_SUITE_END()
