// Batches of whole sequences, for objectives that train every position of a sequence at once
// (SASRec, GRU4Rec, NextItNet, BERT4Rec) instead of one example per (user, prefix).
//
// A user's next-item examples (sequences.h) are prefixes of one token run: example (begin, end)
// has the history tokens[begin, end) and a label for the step after it (pad_truncate may move
// `begin` forward; `end` stays). Grouping a split's examples by Examples::sequence gives every
// sequence once; a batch row holds its group's longest history,
// and the position of history step j carries the label of the group's example whose history ends
// with step j (end = begin + j + 1), or "missing" when the split has no such example:
//
//   group {(b, b+1), (b, b+2), (b, b+3)} with tokens[b..b+3] = 4 7 9 5   (labels 7, 9, 5)
//   ids    [0 0 4 7 9]    (T = 5, left padding)
//   labels [- - 7 9 5]
//
// For a causal model (step t sees steps <= t) the representation at a position is the one the
// example ending there would get alone, so the loss over a batch's labelled positions is the mean
// of its examples' losses: the same objective, read once per sequence instead of once per prefix.
//
// Cloze (masked-item) batches (BERT4Rec, Sun et al. 2019) hold the group's whole sequence — the
// longest history and its target, tokens[begin, end_max] — with some steps replaced by the mask
// token; the labels are the original items at those steps and missing everywhere else.
#pragma once

#include "framework/data/batcher.h"

#include <cstdint>
#include <span>
#include <vector>

namespace attnlab::data {

/// Example rows grouped by sequence: group g is rows[offsets[g], offsets[g + 1]), its examples share
/// Examples::sequence (without it, each row is its own group) and come in ascending `end`; groups
/// are ordered by their first row.
struct SequenceGroups {
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int64_t> rows;
  std::int64_t size() const { return static_cast<std::int64_t>(offsets.size()) - 1; }
  std::span<const std::int64_t> group(std::int64_t g) const {
    return std::span<const std::int64_t>(rows).subspan(
        static_cast<std::size_t>(offsets[static_cast<std::size_t>(g)]),
        static_cast<std::size_t>(offsets[static_cast<std::size_t>(g) + 1] - offsets[static_cast<std::size_t>(g)]));
  }
  /// The group's example with the longest history.
  std::int64_t longest(std::int64_t g) const {
    return rows[static_cast<std::size_t>(offsets[static_cast<std::size_t>(g) + 1]) - 1];
  }
};

/// Groups `rows` (e.g. the training split) by sequence. Throws DataError naming `who` for dense-step
/// examples (no token sequence), a row outside [0, N), or two rows of one sequence with the same end.
SequenceGroups group_sequences(const Examples& examples, std::span<const std::int64_t> rows, const std::string& who);

/// A training unit of whole-sequence objectives: group `group`'s examples rows[first .. last] (indices
/// into the group, ascending end), shown with the history of its example `last`. A sequence longer
/// than the padded length T either trains only its last T positions (one window per group, as
/// SASRec) or is cut into windows that together label every example once.
struct SequenceWindow {
  std::int64_t group = 0, first = 0, last = 0;
};

/// stride 0: one window per group, ending at its longest example (examples that fall before the
/// last T positions are not trained). stride n > 0: windows of n examples from the last one
/// backwards, so every example is labelled exactly once, each seeing at least T - n steps of its
/// history when the ends are contiguous (n <= T).
std::vector<SequenceWindow> sequence_windows(const SequenceGroups& groups, std::int64_t stride);

/// The number of examples the windows label at padded length seq_len (the targets a training epoch covers).
std::int64_t labelled_examples(const Examples& examples, const SequenceGroups& groups,
                               std::span<const SequenceWindow> windows, std::int64_t seq_len);

/// The batch of `windows`, every position labelled as described at the top of this file: labels are
/// [B, T] per label column (i64 -1 or f32 NaN where missing), set where one of the window's examples
/// (first .. last) ends; ids, mask, users, targets and side features are those of the window's last
/// example (rows[b] is that example). With options.seen, row b's seen items are its whole sequence
/// and every label of its group (SASRec's negatives avoid the user's training items). append_mask is
/// refused.
Batch make_sequence_batch(const Examples& examples, const SequenceGroups& groups,
                          std::span<const SequenceWindow> windows, const BatchOptions& options);

struct ClozeOptions {
  double mask_prob = 0.2;  ///< share of a sequence's steps that are masked
  std::uint64_t seed = 0;  ///< masks of group g come from core::Rng(seed).fork(g): the caller folds in the epoch
};

/// Cloze batch of groups `which`: row b holds the group's sequence tokens[begin, end_max] (its last T
/// steps), of which max(1, round(L * mask_prob)) distinct steps (L the steps kept) are drawn
/// uniformly and replaced by the mask token: ids 0, masked 1 (mask stays 1). Every kItem label
/// column gets the original item at the masked steps and -1 elsewhere; other columns are missing
/// everywhere. Throws DataError when a group's target is not the token after its history
/// (tokens[end_max] must be its kItem label: next-item data from sequences.h).
Batch make_cloze_batch(const Examples& examples, const SequenceGroups& groups, std::span<const std::int64_t> which,
                       const BatchOptions& options, const ClozeOptions& cloze);

}  // namespace attnlab::data
