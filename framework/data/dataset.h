// The dataset and preprocess plugin families, and the pipeline that runs them (see examples.h for
// the data model):
//
//   Dataset::load()   raw rows (table-backed datasets; generated and IDX data return no table)
//   row steps         Preprocess with stage() == kRows, in spec order, on the table
//   Dataset::build()  Examples + Splits (+ the split protocol, recorded with the results)
//   example steps     Preprocess with stage() == kExamples, fitted on the training split only
//
// A row step listed after an example step is a config error (the order in the spec is the order
// of application, and rows no longer exist once examples are built).
#pragma once

#include "framework/core/rng.h"
#include "framework/data/examples.h"

#include <map>
#include <string>
#include <vector>

namespace attnlab::data {

/// What Dataset::build returns.
struct Built {
  Examples examples;
  Splits splits;
  std::string protocol;  ///< how the splits were made, e.g. "leave_one_out" / "random 0.8/0.1/0.1 seed 3"
  /// The file the test split was read from, when it is a separate file (a class only it carries is an
  /// error: see data/pipeline.h); empty when the test split was drawn from the same rows.
  std::string test_file{};
};

class Dataset {
 public:
  static constexpr const char* kFamily = "dataset";
  struct Context {
    core::Rng* rng = nullptr;  ///< the trial's data Rng (fork it)
    std::string base_dir{};    ///< directory relative paths in the config are resolved against ("" = cwd)
  };
  virtual ~Dataset() = default;
  /// The raw rows; default: no table (the dataset generates or reads its examples in build()).
  virtual Table load(DataReport& report) {
    (void)report;
    return {};
  }
  /// Examples and splits from the (row-preprocessed) table.
  virtual Built build(Table table, DataReport& report) = 0;
};

/// Named arrays a fitted step keeps (e.g. "mean" and "std" per dense column), stored with the trial.
using Fitted = std::map<std::string, std::vector<double>>;

class Preprocess {
 public:
  static constexpr const char* kFamily = "preprocess";
  enum class Stage { kRows, kExamples };
  struct Context {
    core::Rng* rng = nullptr;
  };
  virtual ~Preprocess() = default;
  virtual Stage stage() const = 0;
  /// kRows: filters or rewrites the raw table; reports what it did (rows dropped, ...).
  virtual void apply_rows(Table& table, DataReport& report) {
    (void)table;
    (void)report;
  }
  /// kExamples: fits on examples.splits.train only, then transforms every example.
  virtual void apply_examples(Examples& examples, const Splits& splits, DataReport& report) {
    (void)examples;
    (void)splits;
    (void)report;
  }
  /// What the step learned from the training split (empty when it learns nothing).
  virtual Fitted fitted() const { return {}; }
  /// pad_truncate sets the padded length; other steps return 0.
  virtual std::int64_t max_len() const { return 0; }
};

}  // namespace attnlab::data
