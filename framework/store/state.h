// The life cycle of a trial, shared by the ledger (every state) and the trial file's /status
// (running, done, failed).
#pragma once

#include <optional>
#include <string_view>

namespace attnlab::store {

enum class TrialState {
  planned,  ///< listed by the sweep, not started (ledger only)
  running,  ///< started; its file is still <id>.h5.tmp
  done,     ///< finished normally: <id>.h5 with /status state "done"
  failed,   ///< finished with an error: <id>.h5 with /status state "failed" and the message
};

/// "planned", "running", "done", "failed".
std::string_view name_of(TrialState state);
/// The state named `name`, or nullopt for any other text.
std::optional<TrialState> parse_state(std::string_view name);

}  // namespace attnlab::store
