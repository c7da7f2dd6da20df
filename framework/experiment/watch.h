// `attnlab watch DIR`: a sweep directory's trials as a table, read from the <id>.progress.yaml files
// the trainer replaces after every epoch (store/trial.h progress_path) while the trials' HDF5 files
// are being written: status, epoch, the best selected figure so far and a sparkline of it per epoch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace attnlab::experiment {

struct WatchRow {
  std::string id, label;
  std::string status;  ///< running | done | failed | waiting (no progress yet) | stalled? (no update for long)
  int epoch = 0, epochs = 0;
  std::string select;  ///< eval.select
  double best = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> valid;  ///< the selected figure per epoch
  double seconds = std::numeric_limits<double>::quiet_NaN();
  std::string message;  ///< a failed trial's
};

/// The rows of `dir`: the trials sweep.yaml lists (in its order; "waiting" without a progress file,
/// "done" when only its <id>.h5 exists), then any other progress file by id. A running trial whose
/// file has not changed for `stalled_after` seconds (and three of its epochs) shows "stalled?"
/// (its process was killed, or hangs). Unreadable progress files are skipped.
std::vector<WatchRow> read_watch(const std::filesystem::path& dir, double stalled_after = 600);

/// The table: a summary line (done/running/failed/waiting of total), then one line per trial
/// (id, status, epoch/epochs, best, sparkline of the last 20 epochs, time, label), `width` columns.
std::string render_watch(const std::vector<WatchRow>& rows, std::size_t width = 120);

/// "m:ss" or "h:mm:ss" for a duration; `unknown` for a negative, NaN or absurd one.
std::string clock_text(double seconds, const char* unknown = "-");

/// Eight-level block sparkline ("▁▂▃▄▅▆▇█") of the last `most` values (NaN: a space).
std::string sparkline(const std::vector<double>& values, std::size_t most = 20);

}  // namespace attnlab::experiment
