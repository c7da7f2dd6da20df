#include "framework/store/state.h"

namespace attnlab::store {

std::string_view name_of(TrialState state) {
  switch (state) {
    case TrialState::planned:
      return "planned";
    case TrialState::running:
      return "running";
    case TrialState::done:
      return "done";
    case TrialState::failed:
      return "failed";
  }
  return "?";
}

std::optional<TrialState> parse_state(std::string_view name) {
  for (auto s : {TrialState::planned, TrialState::running, TrialState::done, TrialState::failed})
    if (name == name_of(s)) return s;
  return std::nullopt;
}

}  // namespace attnlab::store
