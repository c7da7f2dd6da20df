// dataset/text: labelled texts, one per line. By default `label<TAB>text` with no header — the UCI SMS
// Spam Collection format:
//   ham<TAB>Go until jurong point, crazy.. Available only in bugis n great world la e buffet...
//   spam<TAB>Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. ...
// Other layouts are read as they are (no conversion), by naming the columns:
//   - `delimiter` separates the fields (default tab; one character, or `tab`). Quotes are ordinary
//     characters.
//   - header: false — columns are picked by 0-based position, label_index (0) and text_index (1); a
//     row needs max(label_index, text_index) + 1 fields.
//   - header: true — the first non-blank line of each file names the columns; label_col / text_col
//     name the label and text columns (empty: label_index / text_index pick them). A row needs as
//     many fields as the header has names.
//   - The text column takes the rest of the line, further delimiters included, when it is the last
//     column (header: the header's last name; no header: text_index > label_index); otherwise it is
//     one field, and with a header a row with more fields than the header is malformed.
// Files may be gzip-compressed (detected from the content). Blanks around the label are trimmed. A
// UTF-8 byte-order mark at the start of a file is skipped, and blank lines are skipped (and counted).
// Errors name the file and line:
//   "<path>:<line>: no column 'x' in the header; columns: a, b, c" (the list capped by
//       core::join_names), or an index beyond the header's columns — always an error;
//   "<path>:<line>: expected label<TAB>text (at least 2 fields), found 1" — a row with too few fields
//       (with a header: "expected 3 fields (product<TAB>score<TAB>review), found 2"), too many (with a
//       header and the text not last), or an empty label: an error (on_error: fail), or dropped and
//       counted in the report (on_error: drop).
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
  std::string delimiter = "tab";
  bool header = false;
  std::string label_col{};
  std::string text_col{};
  std::int64_t label_index = 0;
  std::int64_t text_index = 1;
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

  /// The file layout, for `attnlab plugins dataset/text` (registry.h); datasets/README.md says the same.
  static constexpr const char* kFormat =
      "one labelled text per line (<TAB> = a tab character); by default label<TAB>text, no header, the text\n"
      "being the rest of the line:\n"
      "  ham<TAB>Go until jurong point, crazy..\n"
      "  spam<TAB>Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005\n"
      "a file with a header: header: true, label_col: score, text_col: review\n"
      "  product<TAB>score<TAB>review\n"
      "  B00X1<TAB>5<TAB>Works as described.\n"
      "without a header, label_index and text_index (0-based) pick the columns; delimiter: one character or tab";

  template <class V>
  void visit(V& v) {
    v.required("path", path)
        .doc("text file, label<TAB>text by default (plain or gzip); relative paths from the spec's directory");
    v("test_path", test_path).doc("a separate test file in the same format (empty: a random test split of `path`)");
    v("delimiter", delimiter).doc("the field separator: one character (',' ';' '|'), or 'tab'");
    v("header", header).doc("the first non-blank line of each file names the columns (it is not a row)");
    v("label_col", label_col).doc("with header: name of the label column ('': label_index picks it)");
    v("text_col", text_col).doc("with header: name of the text column ('': text_index picks it)");
    v("label_index", label_index).min(0).doc("0-based position of the label column (when label_col is '')");
    v("text_index", text_index)
        .min(0)
        .doc(
            "0-based position of the text column (when text_col is ''); as the last column it takes the rest of the "
            "line");
    v("task", task).doc("name of the task its labels form (the task heads refer to it)");
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
        .doc("a malformed line (too few fields, an empty label): fail, or drop it and count it in the report");
  }
};

class TextDataset : public data::Dataset {
 public:
  /// Checks the config at once: throws data::DataError "dataset text: ..." when kind is binary without
  /// `positive`, train_ratio + valid_ratio > 1 without test_path, the delimiter is not one character or
  /// 'tab', label_col / text_col are given without header, the label and text are the same column, or
  /// ctx.rng is null. Files are read by load().
  TextDataset(const TextConfig& c, const Context& ctx);
  /// Reads the file(s). Throws data::DataError for a missing file ("<path>: cannot open: ..."), a named
  /// column missing from a header (or an index beyond it), a malformed line (on_error: fail) or no rows at all.
  data::Table load(data::DataReport& report) override;
  /// Splits, vocabulary, encoding and labels (see the top of this file). Throws data::DataError when
  /// the table lacks the `label` or `text` column, a label is empty, the training split is empty, or `positive`
  /// is not a label of any row.
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  TextConfig c_;
  std::string path_, test_path_;  // resolved
  char delimiter_ = '\t';
  core::Rng rng_;
};

}  // namespace attnlab::plugins
