// The tokenizer and vocabulary (framework/data/tokenizer.h) and dataset/text, on tiny hand-made files
// under tests/data/datasets/gen/ (texts_*.tsv). Expected ids are worked out by hand in the comments.
#include "framework/config/value.h"
#include "framework/data/tokenizer.h"
#include "framework/registry/registry.h"
#include "plugins/dataset/text/text.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <set>

namespace attnlab_text_test {

using namespace attnlab;
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
    dropped |= line.find("2 malformed lines dropped (first: " + kDir + "/texts_bad.tsv:3)") != std::string::npos;
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
  expect_error<data::DataError>(
      [&] {
        data::DataReport r;
        load_and_build(missing, 1, r);
      },
      {"no_such_file.tsv: cannot open"});
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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_text_test
