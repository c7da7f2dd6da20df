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
/// a message stays one readable line. Names are shown printable().
std::string join_names(const std::vector<std::string>& names, std::size_t most = 20);
/// `text` safe to print in a message: control bytes and bytes that are not UTF-8 as \xNN (a damaged
/// file's header would otherwise put raw bytes on the terminal).
std::string printable(std::string_view text);

}  // namespace attnlab::core
