// The tokenizer and vocabulary (framework/data/tokenizer.h) and dataset/text, on tiny hand-made files
// under tests/data/datasets/gen/ (texts_*.tsv), and on files the column-layout tests write into a
// temporary directory (their text is in the test). Expected ids are worked out by hand in the comments.
#include "framework/config/value.h"
#include "framework/data/tokenizer.h"
#include "framework/registry/registry.h"
#include "plugins/dataset/text/text.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

#include <fmt/format.h>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <set>

namespace attnlab_text_test {

using namespace attnlab;
using attnlab::testing::error_of;
using attnlab::testing::expect_error;
using data::Vocabulary;
using plugins::TextConfig;
using Ids = std::vector<std::int64_t>;
using Words = std::vector<std::string>;

const std::string kDir = std::string(ATTNLAB_TEST_DATA_DIR) + "/datasets/gen";

BOOST_AUTO_TEST_SUITE(data_tokenizer)

BOOST_AUTO_TEST_CASE(words_are_ascii_alphanumeric_runs_and_utf8_stays_whole) {
  BOOST_TEST((data::split_words("Go until jurong point, crazy..") == Words{"go", "until", "jurong", "point", "crazy"}));
  BOOST_TEST((data::split_words("T&C's apply 08452810075over18's") ==
              Words{"t", "c", "s", "apply", "08452810075over18", "s"}));
  BOOST_TEST((data::split_words("  ,,, ") == Words{}));
  BOOST_TEST((data::split_words("") == Words{}));
  // "Café" = C a f 0xC3 0xA9; "ÉCOLE" = 0xC3 0x89 C O L E: only ASCII letters are lowercased.
  BOOST_TEST((data::split_words("Caf\xc3\xa9-au-lait \xc3\x89"
                                "COLE") == Words{"caf\xc3\xa9", "au", "lait",
                                                 "\xc3\x89"
                                                 "cole"}));
  BOOST_TEST((data::split_words("MiXeD Case", false) == Words{"MiXeD", "Case"}));
  BOOST_TEST((data::split_words("tab\there\nnew_line") == Words{"tab", "here", "new", "line"}));
}

BOOST_AUTO_TEST_CASE(vocabulary_by_frequency_then_bytes_with_min_count_and_max_size) {
  data::WordCounter counts;
  counts.add_text("b a c b", true);
  counts.add_text("C d a B", true);
  // counts: b 3, a 2, c 2, d 1
  BOOST_TEST(counts.count("b") == 3);
  BOOST_TEST(counts.count("zzz") == 0);
  BOOST_TEST(counts.distinct() == 4);
  BOOST_TEST(counts.total() == 8);
  const auto all = Vocabulary::build(counts, 1, 0);
  BOOST_TEST(all.size() == 6);
  BOOST_TEST(all.word(0) == "<pad>");
  BOOST_TEST(all.word(1) == "<unk>");
  BOOST_TEST(all.id("b") == 2);
  BOOST_TEST(all.id("a") == 3);  // a and c tie at 2: bytes order
  BOOST_TEST(all.id("c") == 4);
  BOOST_TEST(all.id("d") == 5);
  BOOST_TEST(all.id("e") == Vocabulary::kUnknown);
  const auto frequent = Vocabulary::build(counts, 2, 0);
  BOOST_TEST(frequent.size() == 5);
  BOOST_TEST(frequent.id("d") == 1);
  const auto top2 = Vocabulary::build(counts, 1, 2);
  BOOST_TEST(top2.size() == 4);
  BOOST_TEST(top2.id("a") == 3);
  BOOST_TEST(top2.id("c") == 1);
  Ids out{9};
  BOOST_TEST(all.encode("A, e! b", true, out) == 1);  // e is OOV
  BOOST_TEST((out == Ids{9, 3, 1, 2}));               // appended
  BOOST_TEST(Vocabulary().size() == 2);
  expect_error<data::DataError>([&] { (void)all.word(6); }, {"id 6 out of range [0, 6)"});
  expect_error<data::DataError>([&] { (void)Vocabulary::build(counts, 0, 0); }, {"min_count 0"});
  const auto fixed = Vocabulary::from_words({"x", "y", "x"});
  BOOST_TEST(fixed.size() == 4);
  BOOST_TEST(fixed.id("y") == 3);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- dataset/text ----

data::Built load_and_build(const TextConfig& c, std::uint64_t seed, data::DataReport& report,
                           const std::string& base = kDir) {
  core::Rng rng(seed);
  plugins::TextDataset ds(c, {.rng = &rng, .base_dir = base});
  return ds.build(ds.load(report), report);
}

TextConfig train_and_test() {
  TextConfig c;
  c.path = "texts_train.tsv";
  c.test_path = "texts_test.tsv";
  c.valid_ratio = 0.0;
  return c;
}

Ids history(const data::Examples& ex, std::int64_t i) {
  return Ids(ex.tokens.begin() + ex.begin[i], ex.tokens.begin() + ex.end[i]);
}

BOOST_AUTO_TEST_SUITE(data_text)

// texts_train.tsv (lowercased words): 1 go until jurong point crazy / 2 free entry win a free prize now /
// 3 ok lar joking wif u oni / 4 win cash now call 0800 / 5 café au lait ok.
// Counts 2: free now ok win (ids 2-5); counts 1 in byte order: 0800 a au café call cash crazy entry go
// joking jurong lait lar oni point prize u until wif (ids 6-24).
BOOST_AUTO_TEST_CASE(vocabulary_from_the_training_file_and_encoding) {
  data::DataReport report;
  const auto b = load_and_build(train_and_test(), 1, report);
  const auto& ex = b.examples;
  BOOST_TEST(ex.size() == 7);
  BOOST_TEST(ex.vocab == 25);
  BOOST_TEST((history(ex, 0) == Ids{14, 23, 16, 20, 12}));
  BOOST_TEST((history(ex, 1) == Ids{2, 13, 5, 7, 2, 21, 3}));
  BOOST_TEST((history(ex, 2) == Ids{4, 18, 15, 24, 22, 19}));
  BOOST_TEST((history(ex, 3) == Ids{5, 11, 3, 10, 6}));
  BOOST_TEST((history(ex, 4) == Ids{9, 8, 17, 4}));
  BOOST_TEST((history(ex, 5) == Ids{5, 7, 21, 10, 3}));  // test file: WIN a prize, call now!
  BOOST_TEST((history(ex, 6) == Ids{1}));                // ":-)" has no word: one OOV token
  // Each id names its word (stored with the trial): the test text reads back as lowercase words.
  BOOST_REQUIRE_EQUAL(ex.token_names.size(), 25u);
  BOOST_TEST(ex.token_names[0] == "<pad>");
  std::string words;
  for (const auto id : history(ex, 5))
    words += (words.empty() ? "" : " ") + ex.token_names[static_cast<std::size_t>(id)];
  BOOST_TEST(words == "win a prize call now");
  BOOST_TEST((b.splits.train == Ids{0, 1, 2, 3, 4}));
  BOOST_TEST(b.splits.valid.empty());
  BOOST_TEST((b.splits.test == Ids{5, 6}));
  BOOST_TEST(ex.step_dim == 0);
  BOOST_TEST(ex.users.empty());
  BOOST_TEST(ex.labels.size() == 1u);
  const auto& l = ex.labels[0];
  BOOST_TEST(l.task == "label");
  BOOST_TEST((l.kind == data::LabelKind::kClass));
  BOOST_TEST(l.classes == 2);
  BOOST_TEST((l.class_names == Words{"ham", "spam"}));
  BOOST_TEST((l.ids == Ids{0, 1, 0, 1, 0, 1, 0}));
  bool counted = false, wordless = false;
  for (const auto& line : report.lines) {
    counted |= line.find("7 texts (ham 4, spam 3)") != std::string::npos;
    wordless |= line.find("1 texts without any word") != std::string::npos;
  }
  BOOST_TEST(counted);
  BOOST_TEST(wordless);
}

BOOST_AUTO_TEST_CASE(min_count_max_size_and_binary_labels) {
  auto c = train_and_test();
  c.min_count = 2;  // free now ok win
  c.kind = "binary";
  c.positive = "spam";
  c.task = "is_spam";
  data::DataReport report;
  const auto b = load_and_build(c, 1, report);
  BOOST_TEST(b.examples.vocab == 6);
  BOOST_TEST((history(b.examples, 1) == Ids{2, 1, 5, 1, 2, 1, 3}));
  const auto& l = b.examples.labels[0];
  BOOST_TEST(l.task == "is_spam");
  BOOST_TEST((l.kind == data::LabelKind::kBinary));
  BOOST_TEST((l.values == std::vector<float>{0, 1, 0, 1, 0, 1, 0}));
  c.min_count = 1;
  c.max_size = 3;  // free now ok
  const auto top = load_and_build(c, 1, report);
  BOOST_TEST(top.examples.vocab == 5);
  BOOST_TEST((history(top.examples, 3) == Ids{1, 1, 3, 1, 1}));
  c.lowercase = false;  // counts 2: FREE, Win, now (Ok and ok differ now); bytes order: F < W < n
  c.max_size = 0;
  c.min_count = 2;
  const auto cased = load_and_build(c, 1, report);
  BOOST_TEST(cased.examples.vocab == 5);
  BOOST_TEST((history(cased.examples, 1) == Ids{2, 1, 3, 1, 2, 1, 4}));
}

BOOST_AUTO_TEST_CASE(gzip_is_transparent) {
  auto c = train_and_test();
  data::DataReport r1, r2;
  const auto plain = load_and_build(c, 1, r1);
  c.path = "texts_train.tsv.gz";
  const auto gz = load_and_build(c, 1, r2);
  BOOST_TEST((plain.examples.tokens == gz.examples.tokens));
  BOOST_TEST((plain.examples.labels[0].ids == gz.examples.labels[0].ids));
}

BOOST_AUTO_TEST_CASE(bom_crlf_blank_lines_and_tabs_in_the_text) {
  TextConfig c;
  c.path = kDir + "/texts_bom_crlf.tsv";  // absolute: base_dir is not used
  c.train_ratio = 1.0;
  c.valid_ratio = 0.0;
  data::DataReport report;
  const auto b = load_and_build(c, 1, report, "/nonexistent");
  // rows: ham "Hello World", spam "BUY<TAB>now"; words: buy hello now world (all count 1)
  BOOST_TEST(b.examples.size() == 2);
  BOOST_TEST((b.examples.labels[0].class_names == Words{"ham", "spam"}));
  BOOST_TEST((history(b.examples, 0) == Ids{3, 5}));
  BOOST_TEST((history(b.examples, 1) == Ids{2, 4}));
  bool blank = false;
  for (const auto& line : report.lines) blank |= line.find("1 blank lines skipped") != std::string::npos;
  BOOST_TEST(blank);
}

BOOST_AUTO_TEST_CASE(malformed_lines_fail_or_are_dropped) {
  TextConfig c;
  c.path = "texts_bad.tsv";
  expect_error<data::DataError>(
      [&] {
        data::DataReport r;
        load_and_build(c, 1, r);
      },
      {"texts_bad.tsv:3: expected label<TAB>text"});
  c.on_error = "drop";
  c.train_ratio = 1.0;
  c.valid_ratio = 0.0;
  data::DataReport report;
  const auto b = load_and_build(c, 1, report);
  BOOST_TEST(b.examples.size() == 3);
  BOOST_TEST((b.examples.labels[0].ids == Ids{0, 1, 0}));
  bool dropped = false;
  for (const auto& line : report.lines)
    dropped |= line.find("2 malformed lines dropped (on_error: drop; first: " + kDir + "/texts_bad.tsv:3)") !=
               std::string::npos;
  BOOST_TEST(dropped);
}

BOOST_AUTO_TEST_CASE(random_split_builds_the_vocabulary_on_train_only) {
  TextConfig c;
  c.path = "texts_train.tsv";
  c.train_ratio = 0.6;
  c.valid_ratio = 0.2;
  data::DataReport report;
  const auto b = load_and_build(c, 4, report);
  BOOST_TEST(b.splits.train.size() == 3u);
  BOOST_TEST(b.splits.valid.size() == 1u);
  BOOST_TEST(b.splits.test.size() == 1u);
  // Every training word is known, and the vocabulary holds training words only.
  std::set<std::string> train_words;
  const std::vector<std::string> texts = {"Go until jurong point, crazy..", "FREE entry!! Win a FREE prize now",
                                          "Ok lar... Joking wif u oni", "Win cash now: call 0800",
                                          "Caf\xc3\xa9 au lait, ok?"};
  for (const auto i : b.splits.train)
    for (const auto& w : data::split_words(texts[static_cast<std::size_t>(i)])) train_words.insert(w);
  BOOST_TEST(b.examples.vocab == static_cast<std::int64_t>(train_words.size()) + 2);
  for (const auto i : b.splits.train)
    for (const auto id : history(b.examples, i)) BOOST_TEST(id >= 2);
  // The same seed gives the same split; another seed (very likely) another.
  data::DataReport r2;
  BOOST_TEST((load_and_build(c, 4, r2).splits.train == b.splits.train));
  BOOST_TEST(b.protocol.find("random 0.6/0.2/") == 0u);
}

// `seed` fixes the split whatever the trial's data stream (train.seed) is; without it the split
// follows the stream.
BOOST_AUTO_TEST_CASE(a_split_seed_keeps_the_split_while_the_trial_seed_varies) {
  TextConfig c;
  c.path = "texts_train.tsv";
  c.train_ratio = 0.4;
  c.valid_ratio = 0.4;
  std::set<std::vector<std::int64_t>> free_splits, seeded_splits;
  for (std::uint64_t trial_seed = 1; trial_seed <= 8; ++trial_seed) {
    data::DataReport r;
    free_splits.insert(load_and_build(c, trial_seed, r).splits.train);
    TextConfig fixed = c;
    fixed.seed = 11;
    data::DataReport r2;
    seeded_splits.insert(load_and_build(fixed, trial_seed, r2).splits.train);
  }
  BOOST_TEST(seeded_splits.size() == 1u);
  BOOST_TEST(free_splits.size() > 1u);  // 8 trial seeds over 10 possible 2-of-5 training sets
}

BOOST_AUTO_TEST_CASE(build_works_on_a_row_processed_table) {
  core::Rng rng(1);
  plugins::TextDataset ds(train_and_test(), {.rng = &rng, .base_dir = kDir});
  data::DataReport report;
  auto table = ds.load(report);
  BOOST_TEST(table.rows() == 7);
  BOOST_TEST(table.columns.size() == 2u);
  BOOST_TEST((table.line == Ids{1, 2, 3, 4, 5, 1, 2}));
  BOOST_TEST((table.part == std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1, 1}));
  // A row step dropped the second row: the rest still builds, in order.
  auto dropped = table;
  for (auto& col : dropped.columns) col.str.erase(col.str.begin() + 1);
  dropped.line.erase(dropped.line.begin() + 1);
  dropped.part.erase(dropped.part.begin() + 1);
  const auto b = ds.build(dropped, report);
  BOOST_TEST(b.examples.size() == 6);
  BOOST_TEST((b.splits.test == Ids{4, 5}));
  // An emptied label is reported with its file and line.
  auto empty = table;
  empty.columns[0].str[3].clear();
  expect_error<data::DataError>([&] { ds.build(empty, report); }, {kDir + "/texts_train.tsv:4: empty label"});
  auto no_text = table;
  no_text.columns.pop_back();
  expect_error<data::DataError>([&] { ds.build(no_text, report); }, {"no column 'text'", "columns: label"});
}

BOOST_AUTO_TEST_CASE(config_and_file_errors) {
  core::Rng rng(1);
  auto c = train_and_test();
  c.kind = "binary";
  expect_error<data::DataError>([&] { plugins::TextDataset ds(c, {.rng = &rng}); }, {"dataset text", "positive"});
  c.positive = "scam";
  expect_error<data::DataError>(
      [&] {
        data::DataReport r;
        load_and_build(c, 1, r);
      },
      {"positive label 'scam'", "labels: ham, spam"});
  auto missing = train_and_test();
  missing.path = "no_such_file.tsv";
  // At the config field, so that a run reports the spec's line (data.dataset.path).
  expect_error<config::PathError>(
      [&] {
        data::DataReport r;
        load_and_build(missing, 1, r);
      },
      {"path: no such file:", "no_such_file.tsv", "relative to the spec's directory"});
  auto ratios = train_and_test();
  ratios.test_path.clear();
  ratios.train_ratio = 0.95;
  ratios.valid_ratio = 0.1;
  expect_error<data::DataError>([&] { plugins::TextDataset ds(ratios, {.rng = &rng}); }, {"train_ratio + valid_ratio"});
  auto no_train = train_and_test();
  no_train.test_path.clear();
  no_train.train_ratio = 0.0;
  no_train.valid_ratio = 0.5;
  expect_error<data::DataError>(
      [&] {
        data::DataReport r;
        load_and_build(no_train, 1, r);
      },
      {"training split", "is empty"});
}

BOOST_AUTO_TEST_CASE(registered_with_its_config) {
  const auto& reg = registry::Registry<data::Dataset>::get();
  core::Rng rng(2);
  const auto node =
      config::parse("type: text\npath: texts_train.tsv\ntest_path: texts_test.tsv\nvalid_ratio: 0.4\n", "spec.yaml");
  auto ds = reg.create(node, {.rng = &rng, .base_dir = kDir}, "data.dataset");
  data::DataReport report;
  const auto b = ds->build(ds->load(report), report);
  BOOST_TEST(b.splits.train.size() == 3u);
  BOOST_TEST(b.splits.valid.size() == 2u);
  BOOST_TEST(b.splits.test.size() == 2u);
  const auto no_path = config::parse("type: text\n", "spec.yaml");
  expect_error<Error>([&] { reg.create(no_path, {.rng = &rng}, "data.dataset"); }, {"missing required key 'path'"});
}

// ---- column layouts (header, named and indexed columns, delimiter) ----

// A scratch directory for files written by a test, removed at its end.
struct Scratch : testing::TempDir {
  Scratch() : TempDir("test_text") {}
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream((path / name).string(), std::ios::binary) << text;
    return (path / name).string();
  }
};

// The file: product<TAB>score<TAB>review with a header line; a review holding a tab.
const std::string kReviews =
    "product\tscore\treview\n"
    "B001\t5\tWorks as described, great value\n"
    "B002\t1\tBroke after a day\tdo not buy\n"
    "B003\t5\tGreat value\n";

TextConfig all_train(const std::string& path) {
  TextConfig c;
  c.path = path;
  c.train_ratio = 1.0;
  c.valid_ratio = 0.0;
  return c;
}

data::Table load_table(const TextConfig& c, data::DataReport& report) {
  core::Rng rng(1);
  plugins::TextDataset ds(c, {.rng = &rng});
  return ds.load(report);
}

BOOST_AUTO_TEST_CASE(defaults_read_label_tab_text_without_a_header) {
  const TextConfig defaults;
  BOOST_TEST(defaults.delimiter == "tab");
  BOOST_TEST(!defaults.header);
  BOOST_TEST(defaults.label_col.empty());
  BOOST_TEST(defaults.text_col.empty());
  BOOST_TEST(defaults.label_index == 0);
  BOOST_TEST(defaults.text_index == 1);
  Scratch dir;
  // No header: the first line is a row; the text is the rest of the line after the FIRST tab.
  auto c = all_train(dir.write("plain.tsv", "ham\tHello\tthere\nspam\tBUY now\n"));
  data::DataReport report;
  const auto t = load_table(c, report);
  BOOST_TEST((t.line == Ids{1, 2}));
  BOOST_TEST((t.columns[0].str == Words{"ham", "spam"}));
  BOOST_TEST((t.columns[1].str == Words{"Hello\tthere", "BUY now"}));
  // The default spelled out gives the same table.
  c.delimiter = "\t";
  c.label_index = 0;
  c.text_index = 1;
  const auto same = load_table(c, report);
  BOOST_TEST((same.columns[0].str == t.columns[0].str));
  BOOST_TEST((same.columns[1].str == t.columns[1].str));
}

BOOST_AUTO_TEST_CASE(a_header_names_the_label_and_text_columns) {
  Scratch dir;
  auto c = all_train(dir.write("reviews.tsv", kReviews));
  c.header = true;
  c.label_col = "score";
  c.text_col = "review";
  data::DataReport report;
  const auto t = load_table(c, report);
  BOOST_TEST((t.line == Ids{2, 3, 4}));  // line 1 is the header, not a row
  BOOST_TEST((t.columns[0].str == Words{"5", "1", "5"}));
  // review is the header's last column: it takes the rest of the line, the tab included.
  BOOST_TEST(
      (t.columns[1].str == Words{"Works as described, great value", "Broke after a day\tdo not buy", "Great value"}));
  bool said = false;
  for (const auto& line : report.lines)
    said |=
        line.find("reviews.tsv:1: header; label = column 'score' (field 1), text = field 2 to the end of the line") !=
        std::string::npos;
  BOOST_TEST(said);
  // Neither header word becomes a label: the classes are the scores alone.
  data::DataReport r2;
  const auto b = load_and_build(c, 1, r2, "/nonexistent");
  BOOST_TEST((b.examples.labels[0].class_names == Words{"1", "5"}));
  BOOST_TEST((b.examples.labels[0].ids == Ids{1, 0, 1}));
  // Without `header`, the same file's header line is a row whose label is the word "product" (the
  // issue's failure), and each text holds the score too.
  data::DataReport r3;
  const auto raw = load_table(all_train(c.path), r3);
  BOOST_TEST(raw.columns[0].str.front() == "product");
  BOOST_TEST(raw.columns[1].str[1] == "5\tWorks as described, great value");
}

BOOST_AUTO_TEST_CASE(a_header_with_indices_and_a_text_that_is_not_the_last_column) {
  Scratch dir;
  // Indices with a header: the header is skipped, and sets the field count.
  auto c = all_train(dir.write("reviews.tsv", kReviews));
  c.header = true;
  c.label_index = 0;
  c.text_index = 2;
  data::DataReport report;
  BOOST_TEST((load_table(c, report).columns[0].str == Words{"B001", "B002", "B003"}));
  // The text before another column is one field; a row with more fields than the header is malformed.
  auto csv = all_train(dir.write("swapped.csv", "review,stars\nGood value,5\nBad,1\n"));
  csv.header = true;
  csv.delimiter = ",";
  csv.label_col = "stars";
  csv.text_col = "review";
  const auto t = load_table(csv, report);
  BOOST_TEST((t.columns[0].str == Words{"5", "1"}));
  BOOST_TEST((t.columns[1].str == Words{"Good value", "Bad"}));
  csv.path = dir.write("extra.csv", "review,stars\nGood value,5\nBad, really bad,1\n");
  expect_error<data::DataError>([&] { load_table(csv, report); },
                                {"extra.csv:3: expected 2 fields (review, stars), found 3"});
}

BOOST_AUTO_TEST_CASE(index_columns_without_a_header) {
  Scratch dir;
  // label_index 0, text_index 2: the text is the last column used, so it runs to the end of the line.
  auto c = all_train(dir.write("ids.csv", "1,B001,Works great, really\n0,B002,Broke\n"));
  c.delimiter = ",";
  c.text_index = 2;
  data::DataReport report;
  auto t = load_table(c, report);
  BOOST_TEST((t.columns[0].str == Words{"1", "0"}));
  BOOST_TEST((t.columns[1].str == Words{"Works great, really", "Broke"}));
  // The text before the label: one field; fields after the label are read past.
  c.path = dir.write("late.csv", "B001,Works great,5,2016\nB002,Broke,1,2017\n");
  c.label_index = 2;
  c.text_index = 1;
  t = load_table(c, report);
  BOOST_TEST((t.columns[0].str == Words{"5", "1"}));
  BOOST_TEST((t.columns[1].str == Words{"Works great", "Broke"}));
  // A row too short for the columns picked: file:line, the layout and the fields found.
  c.path = dir.write("short.csv", "B001,Works great,5\nB002,Broke\n");
  expect_error<data::DataError>([&] { load_table(c, report); },
                                {"short.csv:2: expected ?,text,label (at least 3 fields), found 2"});
}

BOOST_AUTO_TEST_CASE(a_named_column_missing_from_the_header_lists_the_header) {
  Scratch dir;
  auto c = all_train(dir.write("reviews.tsv", kReviews));
  c.header = true;
  c.label_col = "rating";
  c.text_col = "review";
  data::DataReport report;
  expect_error<data::DataError>(
      [&] { load_table(c, report); },
      {dir.path.string() + "/reviews.tsv:1: no column 'rating' (label_col) in the header; columns: product, score, "
                           "review"});
  c.label_col = "score";
  c.text_col = "body";
  expect_error<data::DataError>([&] { load_table(c, report); },
                                {"reviews.tsv:1: no column 'body' (text_col)", "columns: product, score, review"});
  c.text_col.clear();
  c.text_index = 3;
  expect_error<data::DataError>([&] { load_table(c, report); },
                                {"reviews.tsv:1: text_index 3 is beyond the header's 3 columns"});
  c.text_index = 1;  // a name and an index that meet in the header
  expect_error<data::DataError>([&] { load_table(c, report); },
                                {"reviews.tsv:1: the label and the text are the same column 'score'"});
  // A wide header is listed capped (core::join_names): the first 20 names and how many more.
  std::string wide;
  for (int i = 0; i < 30; ++i) wide += fmt::format("{}col{}", i == 0 ? "" : "\t", i);
  c.path = dir.write("wide.tsv", wide + "\n");
  c.text_col = "col29";
  const auto msg = error_of([&] { load_table(c, report); });
  BOOST_TEST(msg.find("no column 'score' (label_col)") != std::string::npos, msg);
  BOOST_TEST(msg.find("col0, col1, ") != std::string::npos, msg);
  BOOST_TEST(msg.find("col19, ... (and 10 more)") != std::string::npos, msg);
  BOOST_TEST(msg.find("col20") == std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(a_short_row_fails_with_file_line_or_is_dropped) {
  Scratch dir;
  auto c = all_train(dir.write("reviews.tsv", kReviews + "B004\t2\n" + "B005\t\tno score\n" + "B006\t4\tFine\n"));
  c.header = true;
  c.label_col = "score";
  c.text_col = "review";
  data::DataReport report;
  expect_error<data::DataError>(
      [&] { load_table(c, report); },
      {dir.path.string() + "/reviews.tsv:5: expected 3 fields (product, score, review), found 2"});
  c.on_error = "drop";
  data::DataReport dropped;
  const auto t = load_table(c, dropped);
  BOOST_TEST((t.line == Ids{2, 3, 4, 7}));  // line 5 is short, line 6 has an empty label
  bool counted = false;
  for (const auto& line : dropped.lines)
    counted |= line.find("2 malformed lines dropped (on_error: drop; first: " + dir.path.string() +
                         "/reviews.tsv:5)") != std::string::npos;
  BOOST_TEST(counted);
  c.on_error = "fail";
  c.path = dir.write("empty_label.tsv", kReviews + "B005\t \tno score\n");
  expect_error<data::DataError>([&] { load_table(c, report); }, {"empty_label.tsv:5: empty label (column 'score')"});
  // A header and no rows.
  c.path = dir.write("only_header.tsv", "\nproduct\tscore\treview\n");
  expect_error<data::DataError>([&] { load_table(c, report); }, {"no rows in", "only_header.tsv after the header"});
}

BOOST_AUTO_TEST_CASE(column_options_are_checked_at_once) {
  core::Rng rng(1);
  auto c = all_train("unused.tsv");
  c.delimiter = ";;";
  expect_error<data::DataError>([&] { plugins::TextDataset ds(c, {.rng = &rng}); },
                                {"dataset text: delimiter ';;' is not one character or 'tab'"});
  c = all_train("unused.tsv");
  c.label_col = "score";
  expect_error<data::DataError>([&] { plugins::TextDataset ds(c, {.rng = &rng}); },
                                {"label_col and text_col name columns of a header line", "header: true"});
  c = all_train("unused.tsv");
  c.text_index = 0;
  expect_error<data::DataError>([&] { plugins::TextDataset ds(c, {.rng = &rng}); },
                                {"label_index and text_index are both 0"});
  c = all_train("unused.tsv");
  c.header = true;
  c.label_col = c.text_col = "review";
  expect_error<data::DataError>([&] { plugins::TextDataset ds(c, {.rng = &rng}); },
                                {"label_col and text_col are both 'review'"});
}

// A message listing labels stays one readable line: 30 distinct labels, the first 20 shown.
BOOST_AUTO_TEST_CASE(label_lists_in_messages_are_capped) {
  Scratch dir;
  std::string rows;
  for (int i = 0; i < 30; ++i) rows += fmt::format("P{:02}\tsome review {}\n", i, i);
  auto c = all_train(dir.write("many.tsv", rows));
  c.kind = "binary";
  c.positive = "P99";
  data::DataReport report;
  const auto msg = error_of([&] { load_and_build(c, 1, report, "/nonexistent"); });
  BOOST_TEST(msg.find("positive label 'P99'") != std::string::npos, msg);
  BOOST_TEST(msg.find("labels: P00, P01, ") != std::string::npos, msg);
  BOOST_TEST(msg.find("P19, ... (and 10 more)") != std::string::npos, msg);
  BOOST_TEST(msg.find("P20") == std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(column_options_bind_from_a_spec) {
  Scratch dir;
  dir.write("reviews.csv", "product,score,review\nB001,5,Great\nB002,1,Broke\nB003,5,Fine\n");
  const auto& reg = registry::Registry<data::Dataset>::get();
  core::Rng rng(2);
  const auto node = config::parse(
      "type: text\npath: reviews.csv\ndelimiter: ','\nheader: true\nlabel_col: score\ntext_col: review\n"
      "train_ratio: 1.0\nvalid_ratio: 0.0\n",
      "spec.yaml");
  auto ds = reg.create(node, {.rng = &rng, .base_dir = dir.path.string()}, "data.dataset");
  data::DataReport report;
  const auto b = ds->build(ds->load(report), report);
  BOOST_TEST((b.examples.labels[0].class_names == Words{"1", "5"}));
  BOOST_TEST(!reg.find("text")->format.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_text_test
