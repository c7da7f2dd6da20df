// The sweep runner: `attnlab sweep` and `attnlab run`. A sweep directory holds everything:
//
//   <log.dir>/<name>/sweep.yaml     the spec as run (canonical) and the fingerprint of its trial list
//                    ledger.tsv     append-only, fsync'd: every trial state change (store/ledger.h)
//                    <id>.h5        one file per finished trial (done or failed; docs/results.md)
//                    <id>.h5.tmp    a trial being written;  <id>.ckpt.h5  its last epoch's checkpoint
//                    index.h5       external links to finished trials + a summary table
//
// Scheduling. `jobs` trials run at once, each as a TBB task of an arena of `jobs` slots, and each
// trial inside its own task_arena of `threads` slots with omp_set_num_threads(threads) on its
// thread, so jobs x threads <= cores and nothing oversubscribes. The main thread only dispatches,
// draws the progress display and (with MPI) talks to the other ranks.
//
// Resume. Re-running a sweep over its directory skips trials whose <id>.h5 is a complete file with
// status done, re-runs failed ones, and continues unfinished ones from their checkpoint; a trial file
// that does not open (truncated by a crash) is deleted and its trial re-run. A sweep directory made
// by a different spec (another trial list) is refused unless `force`.
//
// Distribution. `shard = i, shards = N` runs the trials whose index is i mod N (job arrays); under
// MPI (built with Open MPI, started by mpirun) rank 0 hands out trials to ranks on request, and
// every rank writes its own trial files; rank 0 keeps the ledger and the index.
#pragma once

#include "framework/experiment/spec.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace attnlab::experiment {

struct SweepOptions {
  std::string spec;                    ///< spec file
  std::vector<std::string> overrides;  ///< command-line overrides
  PluginTrust plugins;                 ///< --plugin libraries and --allow-spec-plugins (plugin_trust.h)
  bool single = false;                 ///< `attnlab run`: the spec without its sweep, as one trial
  int jobs = 0;                        ///< trials at once (0: chosen from the cores)
  int threads = 0;                     ///< threads per trial (0: chosen from the cores)
  bool force = false;                  ///< run over a sweep directory made by another spec
  bool fail_fast = false;              ///< stop everything at the first failed trial
  int shard = 0, shards = 1;           ///< run trials with index % shards == shard
  std::string out_dir;                 ///< the sweep directory (default: <log.dir>/<name>)
  bool quiet = false;                  ///< no progress display and no table
  bool no_table = false;               ///< progress, but no per-trial table at the end
};

struct SweepRow {
  std::string id, label, status, message;
  std::vector<std::pair<std::string, double>> final;  ///< "valid/accuracy" -> value
  double seconds = 0;
  bool skipped = false;  ///< finished by an earlier run
};

struct SweepResult {
  std::string dir;
  std::vector<SweepRow> rows;  ///< the trials of this process's shard, in sweep order
  int done = 0, failed = 0, skipped = 0, stopped = 0;
  int not_run = 0;  ///< trials the sweep never started: it was halted (or stopped by Ctrl-C, --fail-fast)
  /// Why the sweep stopped starting trials, when a failure concerned them all (the storage failed:
  /// "no space left on device writing results/s/ab12.h5.tmp"); empty otherwise.
  std::string halted_by;
  /// Under MPI, on rank 0: one line per rank that was lost mid-sweep, naming it and its trial
  /// (that trial is also a row with status "lost" and counts as stopped).
  std::vector<std::string> lost{};
};

/// Where a spec's results go: <log.dir>/<name>. The one rule for paths: a relative path the spec
/// writes (data files, log.dir; an override edits the spec) is relative to the spec's directory;
/// log.dir's default `results`, when the spec does not write it, is in the working directory.
std::filesystem::path results_dir(const ResolvedSpec& spec);

/// Chooses jobs and threads for `trials` trials on `cores` cores: given one, the other fills the
/// cores; given neither, one thread per trial and as many trials as cores. Throws attnlab::Error
/// when jobs x threads > cores.
std::pair<int, int> choose_parallelism(int jobs, int threads, int cores, std::size_t trials);

/// Runs the sweep (see above). Throws config::ConfigError for a bad spec (nothing run) and
/// attnlab::Error for a refused directory; trial failures are in the result, not thrown.
SweepResult run_sweep(const SweepOptions& options);

/// The results table printed at the end of a sweep: one row per trial, swept values and final metrics.
std::string format_table(const SweepResult& result);

/// One trial of a spec that a rehearsal failed, and why.
struct RehearsalFailure {
  std::size_t index = 0;  ///< in the sweep's expansion order
  std::string label;      ///< its swept values ("" without a sweep)
  std::string message;
};
/// Rehearses every trial of a spec (its sweep expanded; trials with equal configs once): data
/// prepared, the model built, one training step, evaluation on one batch of each split, all as
/// `attnlab run` does, into a temporary directory that is removed. Returns the trials that failed,
/// in order; empty means every trial can run. `on_trial(i, n)` is called before each. The trials'
/// distinct data warnings (in order) go to `warnings` when given.
std::vector<RehearsalFailure> rehearse(const ResolvedSpec& spec,
                                       const std::function<void(std::size_t, std::size_t)>& on_trial = {},
                                       std::vector<std::string>* warnings = nullptr);

}  // namespace attnlab::experiment
