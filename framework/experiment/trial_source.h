// Where a sweep's workers get their next trial and where trial states go (runner.h). Thread-safe:
// every worker thread of the process calls next() and report().
#pragma once

#include "framework/store/state.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::experiment {

class TrialSource {
 public:
  virtual ~TrialSource() = default;
  /// The index (into the sweep's trial list) of the next trial to run, or nullopt when none is left.
  virtual std::optional<std::size_t> next() = 0;
  /// Records a trial's state change in the sweep's ledger (an interrupted trial is reported
  /// running again, with a message: it resumes from its checkpoint).
  virtual void report(const std::string& id, store::TrialState state, const std::string& message) = 0;
  /// Called once when this process's workers have all returned.
  virtual void finish() {}
  /// A stop signal arrived (`why` says which): under MPI, rank 0 marks the trials the other ranks
  /// run as interrupted now, before Open MPI may kill every rank.
  virtual void stopping(const std::string& why) { (void)why; }
  /// After finish(): the MPI ranks that were lost (died, or went silent), each with the trial it
  /// was running ("" when it ran none). Empty without MPI and on the other ranks.
  virtual std::vector<std::pair<int, std::string>> lost() const { return {}; }
};

}  // namespace attnlab::experiment
