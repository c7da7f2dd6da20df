// Helpers for messages that every layer writes: "did you mean" suggestions and name lists.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::core {

/// Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate nearest to `key` within distance 2, if any ("did you mean"); ties: the smallest.
std::optional<std::string> nearest(std::string_view key, const std::vector<std::string>& candidates);
/// "a, b, c", or "(none)" for an empty list; beyond `most` names, "a, b, ... (and 2980 more)" so that
/// a message stays one readable line.
std::string join_names(const std::vector<std::string>& names, std::size_t most = 20);

}  // namespace attnlab::core
