// Where a sweep's workers get their next trial and where trial states go (runner.h). Thread-safe:
// every worker thread of the process calls next() and report().
#pragma once

#include "framework/store/state.h"

#include <cstddef>
#include <optional>
#include <string>

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
};

}  // namespace attnlab::experiment
