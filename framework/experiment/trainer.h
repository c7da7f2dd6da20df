// The trainer: one trial of a spec, from data to a finished HDF5 file (docs/results.md).
//
//   Trainer::setup      prepare data (dataset + preprocess), build the model (model/model.h) for the
//                       training objective (model/objective.h), optimizer, schedule, batchers, probes
//   Trainer::resume     continue from <id>.ckpt.h5 when it exists (TrainState + parameters + optimizer)
//   Trainer::train_epoch, validate, checkpoint   per epoch: train batches (prefetched) -> validation
//                       (and test, with eval.test_curves) curves -> best? keep it -> checkpoint;
//                       early stopping on eval.select with eval.patience
//   Trainer::finish     reload the best parameters, evaluate valid and test -> /final; attention on probes
//
// Failures never escape run_trial: a bad dataset, a config that the data contradicts, a NaN/Inf loss
// or gradient (named by epoch, step and tensor), anything thrown — the trial file is closed with
// status "failed" and the message, and run_trial returns the outcome. Only the caller's stop flag
// (Ctrl-C, --fail-fast) interrupts a trial without a verdict; it then keeps its last checkpoint.
//
// Resume. After every epoch the trial writes <id>.ckpt.h5: the TrainState (epoch, best parameters
// and figure, early-stopping count, the model's Rng, the curves so far) with the parameters and the
// optimizer, saved and loaded by one pair of functions. A trial that finds its checkpoint continues
// after that epoch and ends bitwise identical to an uninterrupted run at the same thread count: the
// batches of epoch e depend only on (seed, e) (data/batcher.h, the objective's builders), and
// everything else random is in the checkpoint. The checkpoint is deleted when the trial ends.
//
// Determinism. Same resolved config + seed + thread count -> bitwise the same file contents
// (except timings and the environment).
#pragma once

#include "framework/data/pipeline.h"
#include "framework/experiment/spec.h"
#include "framework/model/model.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace attnlab::experiment {

/// What a running trial reports, for the progress display.
struct TrialProgress {
  std::string id;
  int epoch = 0, epochs = 0;
  std::int64_t batch = 0, batches = 0;
  double loss = 0;  ///< running mean of the epoch's training loss
  double samples_per_s = 0;
  double eta_s = 0;  ///< estimated seconds left in the trial
  /// "data", "train", "valid", "test", then "epoch" once the epoch's validation is in (the
  /// figures below hold it; the plain display prints one line per trial and epoch there).
  std::string phase;
  std::string select;                                               ///< eval.select ("auc", "loss", ...)
  double valid = std::numeric_limits<double>::quiet_NaN();          ///< the last epoch's eval.select figure
  double best = std::numeric_limits<double>::quiet_NaN();           ///< the best so far
  double epoch_seconds = std::numeric_limits<double>::quiet_NaN();  ///< the last epoch's time (train + valid)
};

struct TrialPlan {
  std::string id;  ///< trial id (hash of the resolved config)
  ResolvedSpec spec;
  std::string out_dir;  ///< <id>.h5, <id>.h5.tmp and <id>.ckpt.h5 go here
  int threads = 1;      ///< oneDNN/OpenMP threads (the caller's arena has as many slots)
  bool alone = false;   ///< no other trial runs in this process meanwhile: /timing/peak_rss_bytes is the trial's own
  /// A rehearsal (attnlab validate): the whole trial with one training step and evaluation on one
  /// batch of each split, so that every stage meets the real data and its shapes.
  bool rehearsal = false;
  std::vector<std::pair<std::string, std::string>> swept;  ///< swept key -> value (recorded)
  std::string label;                       ///< the short label (sweep.h short_labels) for <id>.progress.yaml
  std::map<std::string, std::string> env;  ///< extra /env entries (e.g. mpi_rank)
  std::function<void(const TrialProgress&)> progress;  ///< may be empty
  const std::atomic<bool>* stop = nullptr;             ///< set: finish the current batch and return
};

struct TrialOutcome {
  enum class Status { kDone, kFailed, kStopped };
  Status status = Status::kFailed;
  std::string message;                  ///< failure message
  std::map<std::string, double> final;  ///< "valid/accuracy", "test/hr@10", ...
  double seconds = 0;
  int resumed_from_epoch = 0;         ///< 0: started fresh
  std::vector<std::string> warnings;  ///< the data report's warnings (data::DataReport::warn)
  int storage_errno = 0;              ///< kFailed because the storage failed (ENOSPC, EIO...: store::is_storage_errno)
};

/// The model's dimensions from prepared data: vocabulary, padded length, outputs of the task the
/// spec trains (data.task or each of model.tasks), users, dense steps, side features. Throws
/// attnlab::Error naming a task the data lacks (with the label columns it has).
model::ModelDims dims_for(const ExperimentSpec& spec, const data::PreparedData& data);
/// The label column (index into Examples::labels, so into Batch::labels) of each task the model
/// trains: data.task (default: the first column) or model.tasks in name order. Throws like dims_for.
std::vector<std::size_t> label_columns(const ExperimentSpec& spec, const data::Examples& examples);

/// Runs one trial to the end (or resumes it from its checkpoint). Never throws.
TrialOutcome run_trial(const TrialPlan& plan);

/// Keys of /env: attnlab version and commit, library versions, compiler, CPU, host.
std::map<std::string, std::string> environment();

}  // namespace attnlab::experiment
