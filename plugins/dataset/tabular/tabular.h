// dataset/tabular: one example per row of a delimited table (CSV, plain or gzip), with categorical
// and numeric feature columns and one or more label columns (one task each). Handles UCI Adult:
// no header (names given), ", " separators, "?" for missing, a test file whose first line is
// "|1x3 Cross validator" (comment: "|") and whose labels end in '.' (strip: ".").
//
// Rows and parts: `path` alone is split at random by the ratios train/valid (test = the rest),
// seeded (framework/data/splits.h random_split); with `test_path`, its rows are the test split and
// valid is carved at random from the `path` rows by the ratio `valid`. Row steps may filter the
// table between load() and build(); Table::part remembers which file a row came from.
//
// Features (one example per remaining row, in table order):
//   categorical column f → Examples::categorical[i*F + f], a dense code per column: 1.. in order
//       of first appearance in the TRAIN split; 0 = missing, or a value never seen in train (OOV);
//       categorical_cardinality[f] = 1 + distinct train values.
//   numeric column d     → Examples::dense[i*D + d] (f32, NaN = missing: a row step or a
//       standardize step deals with it).
//   history (tokens: true) → every categorical field is one token, so attention can run over the
//       fields: token of field f = 1 + offset[f] + code, offset[f] = sum of the cardinalities of
//       fields before f; vocab = 1 + sum of cardinalities; example i's history is
//       tokens[i*F, (i+1)*F). Without categorical fields (or tokens: false) histories are empty.
// Labels, one column per task (`tasks`):
//   class   kClass: ids into `classes` when given (a value outside it is an error), else into the
//           sorted distinct values of the column (class_names); missing → -1.
//   binary  kBinary: 1 when the value is in `positive`; 0 when in `negative`, or (negative empty)
//           any other value; a value in neither list when `negative` is given is an error; missing → NaN.
//   value   kValue: the column parsed as a number; missing → NaN.
//   `strip`: a suffix removed from label values before matching (UCI Adult's test labels ">50K.").
//
// Errors (DataError, "dataset tabular: ..."): the reader's (missing file, a column that does not
// exist — listing the ones that do —, malformed rows with on_error fail; with drop they are
// counted in the report), a column used twice (e.g. a label also as a feature: it would leak),
// "no examples" (no rows left), "no training examples", a label value out of range:
// "<file>:<line>: task 'income': value 'x' is not one of: <=50K, >50K".
#pragma once

#include "framework/data/dataset.h"

#include <optional>
#include <string>
#include <vector>

namespace attnlab::plugins {

/// One label column of a tabular dataset.
struct TabularTask {
  std::string name;
  std::string column;
  std::string kind = "class";
  std::vector<std::string> positive{};
  std::vector<std::string> negative{};
  std::vector<std::string> classes{};
  std::string strip{};

  template <class V>
  void visit(V& v) {
    v.required("name", name).doc("task name (the label column's name in Examples)");
    v.required("column", column).doc("table column holding the label");
    v("kind", kind)
        .choices({"class", "binary", "value"})
        .doc("class: class ids; binary: 0/1 by `positive`; value: a number");
    v("positive", positive).doc("binary: the values meaning 1");
    v("negative", negative).doc("binary: the values meaning 0 (empty: every value not positive); others are errors");
    v("classes", classes).doc("class: the class names in id order (empty: the sorted distinct values)");
    v("strip", strip).doc("a suffix removed from label values before matching ('.' for UCI Adult's test file)");
  }
};

struct TabularConfig {
  std::string path;
  std::string test_path{};
  std::string delimiter = ",";
  bool header = true;
  std::vector<std::string> names{};
  std::string quote = "\"";
  std::string comment{};
  std::vector<std::string> missing{"", "?", "NA"};
  std::string on_error = "fail";
  std::vector<std::string> categorical{};
  std::vector<std::string> numeric{};
  std::string impute = "none";
  std::vector<TabularTask> tasks{};
  double train = 0.8;
  double valid = 0.1;
  std::optional<std::int64_t> seed{};
  bool tokens = true;

  /// The file layout, for `attnlab plugins dataset/tabular` (registry.h); datasets/README.md says the same.
  static constexpr const char* kFormat =
      "a delimited table (delimiter ',' by default; quote, comment), one example per row; the first line names\n"
      "the columns (or header: false and names); categorical, numeric and tasks[].column pick columns by name:\n"
      "  age,workclass,hours-per-week,income\n"
      "  39,State-gov,40,<=50K\n"
      "values in `missing` ('', '?', 'NA') are missing; other columns are read past";

  template <class V>
  void visit(V& v) {
    v.required("path", path).doc("table file (plain or .gz); relative paths are resolved against the spec's directory");
    v("test_path", test_path).doc("a separate test file with the same columns ('' = split `path` at random)");
    v("delimiter", delimiter).doc("one character (',' '\\t' ';'), 'tab', or 'whitespace' (runs of blanks)");
    v("header", header).doc("the first line names the columns (else give names)");
    v("names", names).doc("column names (required without a header; with one, they replace its names)");
    v("quote", quote).doc("quote character, or '' for none");
    v("comment", comment).doc("lines starting with this prefix are skipped ('|' for UCI Adult's test file)");
    v("missing", missing).doc("values meaning missing in any column");
    v("on_error", on_error).choices({"fail", "drop"}).doc("malformed rows: fail, or drop them (counted in the log)");
    v("categorical", categorical)
        .doc("categorical feature columns (coded per column from the training split; 0 = missing/unseen)");
    v("numeric", numeric).doc("numeric feature columns (Examples::dense)");
    v("impute", impute)
        .choices({"none", "mean", "zero"})
        .doc(
            "a numeric feature's missing values: none = an error at the row's file:line (drop such rows with "
            "preprocess drop_missing), mean = the training split's mean, zero");
    v.required("tasks", tasks)
        .doc(
            "label columns, one task each: {name, column, kind: class|binary|value, positive, negative, classes, "
            "strip}");
    v("train", train).range(0.0, 1.0).doc("without test_path: fraction of rows for training");
    v("valid", valid)
        .range(0.0, 1.0)
        .doc("fraction of rows for validation (of all rows, or of the path rows with test_path)");
    v("seed", seed).min(0).doc("split seed; absent: drawn from the trial's data random stream");
    v("tokens", tokens).doc("make every categorical field a history token (attention over fields)");
  }
};

class TabularDataset : public data::Dataset {
 public:
  /// Throws DataError on an inconsistent config: no tasks, a column listed twice (as feature and
  /// label too), a binary task without `positive`, train + valid > 1, a bad quote.
  TabularDataset(const TabularConfig& c, const Context& ctx);
  data::Table load(data::DataReport& report) override;
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  /// The file row `row` of the table came from (path or test_path).
  std::string row_file(const data::Table& table, std::int64_t row) const;
  /// What impute fills a missing value of `col` with: the training rows' mean, or 0.
  double impute_value(const data::Column& col, const std::vector<std::int64_t>& train) const;
  TabularConfig c_;
  std::string path_, test_path_;  // resolved
  std::uint64_t seed_;
};

}  // namespace attnlab::plugins
