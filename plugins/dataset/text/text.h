// dataset/text: labelled texts, one per line as `label<TAB>text` — the UCI SMS Spam Collection format
//   ham<TAB>Go until jurong point, crazy.. Available only in bugis n great world la e buffet...
//   spam<TAB>Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. ...
// Files may be gzip-compressed (detected from the content). The label is the text before the FIRST
// tab (blanks around it trimmed); the text is everything after it (further tabs included). A UTF-8
// byte-order mark at the start of a file is skipped, and blank lines are skipped (and counted).
// A line without a tab is an error "<path>:<line>: expected label<TAB>text" (on_error: fail), or is
// dropped and counted in the report (on_error: drop). An empty label is the same kind of error.
//
// load() gives a table with two text columns, `label` and `text` (Table::line = the source line,
// Table::part = 0 for `path`, 1 for `test_path` when one is given), so row steps (drop_missing,
// derive_label, ...) can work on it. build() then:
//   - splits: with test_path, its rows are the test split and valid_ratio of the `path` rows (seeded
//     random) are the validation split; without it, a seeded random train_ratio / valid_ratio / rest
//     split (data::random_split) of all rows. The seed is `seed` when given, so that the splits stay
//     put while train.seed varies; otherwise it comes from the trial's data Rng.
//   - builds the vocabulary on the TRAINING split only (framework/data/tokenizer.h: min_count,
//     max_size; id 0 = padding, 1 = OOV), and encodes every text into the one token array, in row
//     order, keeping every token (max_len truncation is the pad_truncate step's job). A text without
//     any word becomes one OOV token, so that no history is empty (counted in the report).
//   - labels, task `task`: kind `class` — kClass, classes = the distinct labels of all rows, SORTED
//     by bytes (class_names; "ham" = 0, "spam" = 1); kind `binary` — kBinary, 1 for rows whose label is
//     `positive`, 0 for every other label (a `positive` label that no row has is an error listing the
//     labels seen).
// Examples have no users, targets or side features.
#pragma once

#include "framework/core/rng.h"
#include "framework/data/dataset.h"

#include <cstdint>
#include <optional>
#include <string>

namespace attnlab::plugins {

struct TextConfig {
  std::string path;
  std::string test_path;
  std::string task = "label";
  std::string kind = "class";
  std::string positive;
  bool lowercase = true;
  std::int64_t min_count = 1;
  std::int64_t max_size = 0;
  double train_ratio = 0.8;
  double valid_ratio = 0.1;
  std::string on_error = "fail";
  std::optional<std::int64_t> seed{};

  template <class V>
  void visit(V& v) {
    v.required("path", path).doc("label<TAB>text file (plain or gzip); relative paths from the spec's directory");
    v("test_path", test_path).doc("a separate test file in the same format (empty: a random test split of `path`)");
    v("task", task).doc("name of the label column (the task heads refer to)");
    v("kind", kind)
        .choices({"class", "binary"})
        .doc("class: one class per distinct label (sorted); binary: 1 iff label == positive");
    v("positive", positive).doc("the positive label (kind: binary)");
    v("lowercase", lowercase).doc("lowercase ASCII letters before building the vocabulary");
    v("min_count", min_count).min(1).doc("keep words seen at least this often in the training split");
    v("max_size", max_size).min(0).doc("keep at most this many words, most frequent first (0: no limit)");
    v("train_ratio", train_ratio).range(0.0, 1.0).doc("fraction of rows for training (without test_path)");
    v("seed", seed)
        .min(0)
        .doc("split seed; absent: drawn from the trial's data random stream (changes with train.seed)");
    v("valid_ratio", valid_ratio)
        .range(0.0, 1.0)
        .doc("fraction of rows (of `path` rows with test_path) for validation");
    v("on_error", on_error)
        .choices({"fail", "drop"})
        .doc("a malformed line: fail, or drop it and count it in the report");
  }
};

class TextDataset : public data::Dataset {
 public:
  /// Checks the config at once: throws data::DataError "dataset text: ..." when kind is binary without
  /// `positive`, train_ratio + valid_ratio > 1 without test_path, or ctx.rng is null. Files are read by load().
  TextDataset(const TextConfig& c, const Context& ctx);
  /// Reads the file(s). Throws data::DataError for a missing file ("<path>: cannot open: ..."), a
  /// malformed line (on_error: fail) or no rows at all.
  data::Table load(data::DataReport& report) override;
  /// Splits, vocabulary, encoding and labels (see the top of this file). Throws data::DataError when
  /// the table lacks the `label` or `text` column, a label is empty, the training split is empty, or `positive`
  /// is not a label of any row.
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  TextConfig c_;
  std::string path_, test_path_;  // resolved
  core::Rng rng_;
};

}  // namespace attnlab::plugins
