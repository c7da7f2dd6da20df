// The data model every dataset, preprocessing step, split and batcher shares.
//
//   files ──reader──> Table (raw rows, columns by name)          row-level steps (drop_missing,
//                        │                                        outliers, kcore, implicit, derive_label)
//                        └──Dataset::build──> Examples + Splits   example-level steps (standardize,
//                                                                 pad_truncate), fitted on train only
//                                               └──Batcher──> Batch (tensors, padded, prefetched)
//
// Examples are columnar and compact: every history lives in ONE token array and an example is a
// [begin, end) range into it, so the n prefixes of a user's sequence (one training example per
// next-item target) cost O(n), not O(n²); no vector per sample anywhere.
#pragma once

#include "framework/core/error.h"

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace attnlab::data {

/// Bad data: a malformed row, a missing file or column, an empty dataset, a label out of range.
/// The message says where (file:line, column, step) and what was expected.
class DataError : public Error {
 public:
  explicit DataError(const std::string& what) : Error(what) {}
};

/// One column of a raw table: numeric (NaN = missing) or text (empty = missing).
struct Column {
  std::string name;
  bool numeric = false;
  std::vector<double> num;       ///< numeric: one value per row
  std::vector<std::string> str;  ///< text: one value per row
  bool missing(std::int64_t row) const;
};

/// Raw rows as read from a file (or files), before examples are built.
struct Table {
  std::string source;  ///< file name(s), for messages
  std::vector<Column> columns;
  std::vector<std::int64_t> line;  ///< source line of each row (1-based), for messages
  std::vector<std::uint8_t> part;  ///< per row: 0 = train file, 1 = test file (empty: one file)

  std::int64_t rows() const { return static_cast<std::int64_t>(line.size()); }
  bool has(const std::string& name) const;
  /// The column named `name`; throws DataError naming `who`, the column, and the columns that exist.
  Column& column(const std::string& name, const std::string& who);
  const Column& column(const std::string& name, const std::string& who) const;
  /// Keeps the rows whose keep[row] != 0 (in order), in every column, line and part.
  void filter(const std::vector<std::uint8_t>& keep);
};

/// How a task's labels are typed, which decides the head it fits and the metrics it supports.
enum class LabelKind {
  kClass,   ///< class id i64 in [0, classes), -1 missing           (classification head)
  kBinary,  ///< 0/1 f32, NaN missing                               (binary head; CTR)
  kValue,   ///< real f32, NaN missing                              (regression head)
  kItem,    ///< item id i64 in [1, classes), -1 missing: next item (next_item head; ranking)
};
const char* name_of(LabelKind kind);

struct LabelColumn {
  std::string task;  ///< task name ("label" for a single-task dataset)
  LabelKind kind = LabelKind::kClass;
  std::int64_t classes = 0;                ///< kClass: number of classes; kItem: item vocabulary (ids < classes)
  std::vector<std::int64_t> ids{};         ///< kClass / kItem
  std::vector<float> values{};             ///< kBinary / kValue
  std::vector<std::string> class_names{};  ///< kClass: name of each class (optional)
};

/// Examples in columns. N = size(); every per-example vector is empty or has N entries.
struct Examples {
  // History of example i: tokens[begin[i], end[i]) in time order (ids >= 1; 0 is padding).
  std::vector<std::int64_t> tokens;
  std::vector<std::int64_t> begin, end;
  std::int64_t vocab = 0;  ///< token ids lie in [0, vocab), 0 = padding
  /// What each token id stands for (index = id; [0] = padding): a text vocabulary's words, the
  /// file's item ids of interaction data; stored with each trial (/data/tokens) so that heatmaps and
  /// reports show words and items, not ids. Empty, or vocab entries.
  std::vector<std::string> token_names;
  // Dense steps (images, as rows of pixels): step_dim > 0 means token position p of the history
  // has the features step_values[p*step_dim, (p+1)*step_dim) and `tokens` holds no ids (vocab 0).
  std::int64_t step_dim = 0;
  std::vector<float> step_values;

  std::vector<std::int64_t> users;  ///< user id in [0, num_users) (gAUC, model.query: user)
  std::int64_t num_users = 0;
  std::vector<std::int64_t> targets;  ///< candidate/target item id (model.query: target; CTR)
  /// Where example i's whole sequence starts in `tokens` (next-item examples: its user's first item):
  /// tokens[sequence_begin[i], end[i]) is everything the user did before the target, of which the
  /// history [begin, end) may be the last max_len steps (pad_truncate). Examples with the same
  /// sequence_begin are prefixes of one sequence and end where their targets are: objectives that
  /// train every position group them (data/sequence_batch.h), and sampled negatives avoid the whole
  /// sequence. Empty: each example is its own sequence, starting at begin.
  std::vector<std::int64_t> sequence_begin;
  std::vector<double> times;  ///< time of the predicted event (temporal split)

  std::vector<std::string> categorical_names;  ///< F categorical side features
  std::vector<std::int64_t> categorical_cardinality;
  std::vector<std::int64_t> categorical;  ///< [N * F], column f in [0, cardinality[f])
  std::vector<std::string> dense_names;   ///< D dense side features
  std::vector<float> dense;               ///< [N * D]

  std::vector<LabelColumn> labels;  ///< one per task

  // Ground truth of generated data: example i's informative positions, as offsets into its
  // history (0 = tokens[begin[i]]), are truth[truth_offsets[i], truth_offsets[i+1]).
  std::vector<std::int64_t> truth_offsets, truth;

  std::int64_t size() const { return static_cast<std::int64_t>(begin.size()); }
  std::int64_t length(std::int64_t i) const {
    return end[static_cast<std::size_t>(i)] - begin[static_cast<std::size_t>(i)];
  }
  std::int64_t num_categorical() const { return static_cast<std::int64_t>(categorical_names.size()); }
  std::int64_t num_dense() const { return static_cast<std::int64_t>(dense_names.size()); }
  const LabelColumn& label(const std::string& task) const;  ///< throws DataError listing the tasks
  /// Checks every invariant (sizes, id ranges, label ranges); throws DataError naming `who`.
  void validate(const std::string& who) const;
};

/// Example indices of each split (disjoint; test may be empty when the spec has no test split).
struct Splits {
  std::vector<std::int64_t> train, valid, test;
};

/// What one preprocessing step or loader did, for the trial's log ("drop_missing: 12 rows dropped").
struct DataReport {
  std::vector<std::string> lines;
  /// What the user should hear about before trusting the run (also in `lines`): `attnlab validate`
  /// prints them, `run`/`sweep` print each distinct one once.
  std::vector<std::string> warnings;
  void warn(std::string text) {
    lines.push_back("warning: " + text);
    warnings.push_back(std::move(text));
  }
};

}  // namespace attnlab::data
