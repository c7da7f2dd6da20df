// The sweep index: <sweep dir>/index.h5, one file that reaches every trial and tabulates them.
//
//   /                    attrs format = "attnlab-index", format_version = 1,
//                        summary_columns (string [C]): the column names of /summary, in order,
//                        summary_roles (string [C]): each column's role: id | status | param | final
//                        summary_better (string [C]): for a final column, "lower" or "higher" (which
//                        way the metric improves, from the metric table); "" for the others
//   /trials/<id>         external link to "<id>.h5":/ (a relative file name, resolved against the
//                        index's own directory: the sweep directory can be moved or copied whole)
//   /summary             compound [R], one row per trial:
//                          id      fixed-length string
//                          status  fixed-length string (done, failed, running, planned)
//                          <key>   one column per swept key (dotted, e.g. model.attention.type):
//                                  f64 when every present value is a number (NaN when absent),
//                                  else a fixed-length string ("" when absent)
//                          <split>/<metric>  f64 per final metric (NaN when the trial lacks it),
//                                  columns sorted by name
// pandas: pd.DataFrame(h5py.File(p)["summary"][()]); string columns come as bytes (numpy 'S'):
// decode with df[c] = df[c].str.decode("utf-8") for each string column (docs/results.md).
//
// index.h5 is rewritten whole (to index.h5.tmp, fsync'd, renamed): readers see the old index or
// the new one. It is derived data: the ledger and the trial files are the truth.
#pragma once

#include "framework/store/h5.h"
#include "framework/store/state.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnlab::store {

inline constexpr const char* kIndexFormat = "attnlab-index";
inline constexpr std::int64_t kIndexFormatVersion = 1;

struct IndexRow {
  std::string id;
  TrialState status = TrialState::planned;
  /// Swept key -> value as text (experiment::Trial::assignments, canonical form), in axis order.
  std::vector<std::pair<std::string, std::string>> params{};
  /// "<split>/<metric>" -> value.
  std::map<std::string, double> finals{};
  /// The trial file relative to the sweep directory ("<id>.h5"); empty: no file, no link.
  std::string file{};
};

/// A row for a finished trial file: id, status and finals read from it, file = its file name.
/// Throws StoreError when the file does not read as a trial file.
IndexRow index_row(const std::filesystem::path& trial_file, std::vector<std::pair<std::string, std::string>> params);

/// Writes <sweep_dir>/index.h5 (see the header comment). Columns: id, status, then the swept keys in
/// order of first appearance over the rows, then the final metrics sorted by name. Throws
/// StoreError for duplicate or invalid ids, a row's file that does not exist in sweep_dir, a column
/// name used twice (a swept key named "id", "status" or like a metric), or any HDF5 failure.
/// `lower_is_better` names the direction of each final metric ("test/rmse" -> true; the runner
/// passes eval::lower_is_better); without it the directions are left empty.
void write_index(const std::filesystem::path& sweep_dir, const std::vector<IndexRow>& rows,
                 const std::function<bool(std::string_view)>& lower_is_better = {});

/// /summary of an index file, with each column's role ("id", "status", "param", "final").
struct SummaryColumn {
  h5::TableColumn column;
  std::string role;
};
std::vector<SummaryColumn> read_summary(const std::filesystem::path& index_file);

}  // namespace attnlab::store
