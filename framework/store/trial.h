// One HDF5 file per trial: TrialWriter writes it while the trial runs, TrialReader reads a finished
// one (for the sweep index, validation, resume decisions and tests). docs/results.md shows the
// layout with h5py/pandas recipes; in short (every name below is fixed, <...> are the caller's):
//
//   /                      attrs format = "attnlab-trial", format_version = 1 (int64), trial_id
//   /config                attr hash (string); dataset yaml (string): the resolved config
//   /env                   one string attribute per entry of the caller's map (versions, host, seed...)
//   /data                  protocol (string), split_sizes/<split> (int64 scalars), report (string [n]),
//                          fitted/<step>/<name> (f64 [n]): what a fitted preprocessing step learned,
//                          tokens (string [vocab], optional): what each token id stands for (word, item id),
//                          labels/<task>/<split> (int64 [classes], optional) and labels/<task>/names:
//                          the label balance of each class or binary task
//   /curves/epoch          int64 [E], extendible: every epoch any curve has a value for, increasing
//   /curves/<split>/<name> f64 [E], extendible, aligned with /curves/epoch (NaN: no value that epoch)
//   /final/<split>/<metric> f64 scalar
//   /attention/probe/<name> the fixed probe samples (f32 or int64 arrays: ids/inputs, mask, truth...)
//   /attention/<layer>/epoch_<e>  f32 N-D attention weights on the probe, deflate-compressed
//   /timing                epoch (int64 [E']), epoch_seconds, epoch_samples_per_second,
//                          epoch_faults_per_step (minor page faults per training step, NaN when
//                          other trials shared the process) (f64 [E'], extendible); total_seconds,
//                          samples_per_second (f64), peak_rss_bytes (int64)
//   /status                attrs state ("running" | "done" | "failed"), message, failed_at (strings)
//
// Crash safety. The writer creates <dir>/<id>.h5.tmp (status "running") and only finish_done() /
// finish_failed() close it, fsync it and rename it atomically to <dir>/<id>.h5. So <id>.h5 exists
// only for a trial that ended (done, or failed with its message); a killed process leaves a .tmp,
// which a resumed sweep treats as unfinished and rewrites from the trial's checkpoint. flush()
// (after each epoch) pushes everything to the OS, so the .tmp of a killed process is readable with
// the epochs flushed so far (useful for a post-mortem, never trusted as results).
//
// Names. Split, metric, layer, probe-array and fitted-step names are single path components:
// non-empty, without '/', not "." or ".."; the split "epoch" and the layer "probe" are reserved.
// Anything else throws StoreError naming the file and the object.
//
// Threads. One writer belongs to one trial's thread; different writers may run in parallel threads
// (HDF5 calls are serialised inside h5.h).
#pragma once

#include "framework/core/tensor.h"
#include "framework/store/h5.h"
#include "framework/store/state.h"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::store {

inline constexpr const char* kTrialFormat = "attnlab-trial";
inline constexpr std::int64_t kTrialFormatVersion = 1;
/// /status message attributes longer than this (bytes) are cut (at a UTF-8 boundary) and marked.
inline constexpr std::size_t kMaxStatusMessage = 32768;

/// <dir>/<id>.h5 (a finished trial) and <dir>/<id>.h5.tmp (one being written, or abandoned).
std::filesystem::path trial_path(const std::filesystem::path& dir, const std::string& id);
/// <dir>/<id>.progress.yaml: a running trial's progress (status, epoch, selected metric per epoch,
/// best so far), replaced atomically after every epoch; `attnlab watch` reads it.
std::filesystem::path progress_path(const std::filesystem::path& dir, const std::string& id);
std::filesystem::path trial_temp_path(const std::filesystem::path& dir, const std::string& id);

/// Every appended series by key, for checkpoints: "curves/epoch", "curves/<split>/<name>",
/// "timing/epoch", "timing/epoch_seconds", "timing/epoch_samples_per_second". Epochs are stored as
/// doubles (exact below 2^53). Each series is aligned with its axis (NaN where it has no value).
using Series = std::map<std::string, std::vector<double>>;

/// What the data pipeline did (/data).
struct DataRecord {
  std::string protocol{};                                           ///< e.g. "random 0.8/0.1/0.1 seed 3"
  std::vector<std::pair<std::string, std::int64_t>> split_sizes{};  ///< {"train", 800}, ...
  std::vector<std::string> report{};                                ///< DataReport::lines
  /// What each token id stands for (index = id, [0] = padding): a text vocabulary's words, the
  /// file's item ids of interaction data. Empty when the ids name nothing else (/data/tokens absent).
  std::vector<std::string> tokens{};
  /// Label balance of each class or binary task the model learns, per split: counts[c] examples
  /// of class c (binary: 0, 1), missing labels not counted; names[c] its name when the data has
  /// one. /data/labels/<task>/<split> (int64 [classes]) and /data/labels/<task>/names.
  struct LabelCounts {
    std::string task;
    std::vector<std::string> names;
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> splits;  ///< {"train", counts}, ...
  };
  std::vector<LabelCounts> labels{};
  /// Per fitted step (unique names, e.g. "standardize"): named arrays (data::Fitted).
  std::vector<std::pair<std::string, std::map<std::string, std::vector<double>>>> fitted{};
};

/// /timing.
struct Timing {
  std::vector<std::int64_t> epochs{};
  std::vector<double> epoch_seconds{}, epoch_samples_per_second{}, epoch_faults_per_step{};
  double total_seconds = std::numeric_limits<double>::quiet_NaN();       ///< NaN when never written
  double samples_per_second = std::numeric_limits<double>::quiet_NaN();  ///< NaN when never written
  std::int64_t peak_rss_bytes = -1;                                      ///< -1 when never written
  std::string peak_rss_scope{};         ///< "trial" (it ran alone in its process) or "process"; "" unknown
  std::int64_t peak_tensor_bytes = -1;  ///< the trial's own tensors at their peak; -1 unknown
  std::int64_t best_epoch = -1;         ///< the epoch whose parameters /final evaluates; -1 unknown
  std::int64_t epochs_run = -1;         ///< epochs trained (fewer than train.epochs after early stopping)
};

/// What a finished trial records of its whole run (/timing datasets and attributes).
struct TrialTotals {
  double total_seconds = 0;
  double samples_per_second = 0;
  std::int64_t peak_rss_bytes = 0;
  std::string peak_rss_scope = "process";  ///< "trial" when the trial ran alone in its process
  std::int64_t peak_tensor_bytes = 0;
  std::int64_t best_epoch = 0;
  std::int64_t epochs_run = 0;
};

class TrialWriter {
 public:
  /// Creates <dir>/<id>.h5.tmp (replacing a stale one left by a killed run; the directory must
  /// exist) with the root attributes and /status state "running". Throws StoreError.
  TrialWriter(const std::filesystem::path& dir, std::string id);
  /// Without finish_*: closes the file and leaves the .tmp (the trial counts as unfinished).
  ~TrialWriter();
  TrialWriter(const TrialWriter&) = delete;
  TrialWriter& operator=(const TrialWriter&) = delete;

  const std::string& id() const { return id_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& final_path() const { return final_; }
  bool finished() const { return finished_; }

  // Each write_* below may be called once (a second call throws StoreError: "already written").

  /// /config/yaml and the /config attribute hash.
  void write_config(std::string_view yaml, std::string_view hash);
  /// /env: one string attribute per entry (attnlab version, git commit, compiler, library versions,
  /// threads, cpu model, host, seed...). Keys must be non-empty.
  void write_env(const std::map<std::string, std::string>& env);
  /// /data (see DataRecord).
  void write_data(const DataRecord& data);
  /// /attention/probe/<name> for each array (f32 or i64 tensors, any shape).
  void write_attention_probe(const std::map<std::string, core::Tensor>& arrays);

  /// Appends `value` to /curves/<split>/<name> for `epoch`. Epochs never go back: `epoch` must be
  /// >= the last epoch of /curves/epoch (a larger one is appended to it), and a curve gets at most
  /// one value per epoch. A curve that skipped epochs gets NaN there. Throws StoreError otherwise.
  void append_curve(std::string_view split, std::string_view name, std::int64_t epoch, double value);
  /// Appends one epoch's wall time, throughput and page faults per step to /timing (epochs
  /// strictly increasing; NaN faults: not measured).
  void append_epoch_time(std::int64_t epoch, double seconds, double samples_per_second,
                         double faults_per_step = std::numeric_limits<double>::quiet_NaN());
  /// /final/<split>/<metric> (once per pair).
  void write_final(std::string_view split, std::string_view metric, double value);
  /// /timing/total_seconds, samples_per_second, peak_rss_bytes, and the attributes peak_rss_scope,
  /// peak_tensor_bytes, best_epoch, epochs_run (once).
  void write_timing(const TrialTotals& totals);
  /// /attention/<layer>/epoch_<epoch>: f32 weights of any shape (e.g. [P, Tq, Tk] for P probe
  /// samples), deflate level 4 with byte shuffle. Throws for a non-f32 tensor or a repeated epoch.
  void write_attention(std::string_view layer, std::int64_t epoch, const core::Tensor& weights);

  /// H5Fflush: after each epoch, so a killed run leaves a readable .tmp up to that epoch.
  void flush();

  /// Pads every curve to the full /curves/epoch length with NaN, sets /status, closes the file,
  /// fsyncs it and renames <id>.h5.tmp -> <id>.h5 atomically (replacing an older <id>.h5).
  void finish_done();
  /// The same with state "failed", `message` (what went wrong) and `failed_at` (where: "epoch 3
  /// batch 17", "preprocess kcore"...). A failed trial is kept as <id>.h5 too.
  void finish_failed(std::string_view message, std::string_view failed_at);

  /// Every series appended so far (keys above), for the trial's checkpoint.
  Series series() const;
  /// Re-appends the series of a checkpoint into this (fresh) writer, so a resumed trial's file holds
  /// the curves of the epochs before the interruption. Throws StoreError when anything was appended
  /// already or when a key or length does not fit the layout.
  void restore_series(const Series& series);

  /// The open file, for datasets this class does not know (throws after finish_*).
  h5::File& file();

 private:
  struct Axis;
  void finish(TrialState state, std::string_view message, std::string_view failed_at);
  void append_on(Axis& axis, const std::string& key, std::int64_t epoch, double value);
  void once(const std::string& what);

  std::string id_;
  std::filesystem::path temp_, final_;
  std::optional<h5::File> file_;
  std::unique_ptr<Axis> curves_, timing_;
  std::vector<std::string> written_;  // write_* calls made (for "already written")
  bool finished_ = false;
};

/// A trial file opened read-only. Checks at construction that it is an attnlab trial file.
class TrialReader {
 public:
  /// Throws StoreError for a missing, truncated or corrupt file ("cannot open as HDF5: ..."), an
  /// HDF5 file without root attribute format = "attnlab-trial" ("not an attnlab trial file"), a
  /// newer format_version, or a missing/invalid /status.
  explicit TrialReader(const std::filesystem::path& path);

  const std::string& id() const { return id_; }
  std::int64_t format_version() const { return version_; }
  /// /status. A .tmp file read after flush() says running.
  TrialState state() const { return state_; }
  const std::string& message() const { return message_; }
  const std::string& failed_at() const { return failed_at_; }

  std::string config_hash() const;
  std::string config_yaml() const;
  std::map<std::string, std::string> env() const;
  DataRecord data() const;  ///< split_sizes and fitted steps in name order
  /// split -> metric -> value.
  std::map<std::string, std::map<std::string, double>> finals() const;
  std::optional<double> final_value(std::string_view split, std::string_view metric) const;
  /// /curves/epoch; /curves/<split>/<name> (throws when absent); split -> curve names.
  std::vector<std::int64_t> epochs() const;
  std::vector<double> curve(std::string_view split, std::string_view name) const;
  std::map<std::string, std::vector<std::string>> curve_names() const;
  /// All series with TrialWriter::series() keys (to rebuild a file or a checkpoint).
  Series series() const;
  Timing timing() const;
  /// Layers with attention weights, a layer's epochs (increasing), one epoch's weights, the probe.
  std::vector<std::string> attention_layers() const;
  std::vector<std::int64_t> attention_epochs(std::string_view layer) const;
  core::Tensor attention(std::string_view layer, std::int64_t epoch) const;
  std::map<std::string, core::Tensor> attention_probe() const;

  h5::File& file() { return file_; }
  const h5::File& file() const { return file_; }

 private:
  h5::File file_;
  std::string id_, message_, failed_at_;
  std::int64_t version_ = 0;
  TrialState state_ = TrialState::running;
};

/// What a sweep directory says about one trial (for resume decisions).
struct TrialFileStatus {
  enum class Kind {
    missing,     ///< neither <id>.h5 nor <id>.h5.tmp
    unfinished,  ///< only <id>.h5.tmp: started and never finished (killed, or still running)
    done,        ///< <id>.h5 reads and says done
    failed,      ///< <id>.h5 reads and says failed (message holds its message)
    unreadable,  ///< <id>.h5 exists but is not a readable trial file (message says why)
  };
  Kind kind = Kind::missing;
  std::string message{};
};
TrialFileStatus inspect_trial(const std::filesystem::path& dir, const std::string& id);

}  // namespace attnlab::store
