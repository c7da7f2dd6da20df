// User sequences and next-item examples, and the two split protocols of sequential
// recommendation.
//
//   interactions (user, item, time) ──make_sequences──> Sequences: per user, the items in time order
//   Sequences ──next_item_examples──> Examples: one example per (user, position p >= min_history):
//        history = the user's items [0, p), target = item p (label "next_item")
//   Examples ──leave_one_out / temporal_split──> Splits
//
// The examples share ONE token array (Sequences::items): user u's prefixes are ranges
// [offsets[u], offsets[u] + p) of it, so n interactions give n - min_history examples in O(n) memory.
#pragma once

#include "framework/data/examples.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::data {

/// Users' time-ordered interactions, back to back: user u's are [offsets[u], offsets[u+1]).
struct Sequences {
  std::vector<std::int64_t> offsets{0};  ///< U + 1 entries
  std::vector<std::int64_t> items;       ///< dense item ids in [1, num_items]; 0 is padding
  std::vector<double> times;             ///< per interaction; empty when there are no timestamps
  std::vector<float> ratings;            ///< per interaction (NaN = missing); empty when no ratings
  std::vector<std::int64_t> rows;        ///< per interaction: its row in the source table
  std::vector<std::string> user_keys;    ///< raw id of each dense user (U entries)
  std::vector<std::string> item_keys;    ///< raw id of each dense item; item_keys[0] = "" (padding)
  std::int64_t num_users() const { return static_cast<std::int64_t>(offsets.size()) - 1; }
  std::int64_t num_items() const { return static_cast<std::int64_t>(item_keys.size()) - 1; }
};

/// Groups interactions (one per row; all vectors of one length, times/ratings may be empty) into
/// per-user sequences with dense ids. Deterministic: rows are stably sorted by (time, row order) —
/// equal timestamps keep the file's order — and users (0..U-1) and items (1..I) are numbered in
/// order of first appearance in that sorted order. Without times the row order is the time order.
Sequences make_sequences(const std::vector<std::string_view>& users, const std::vector<std::string_view>& items,
                         const std::vector<double>& times, const std::vector<float>& ratings);

/// Next-item examples over `s`: for every user u and position p in [min_history, n_u), history =
/// items[offsets[u], offsets[u] + p) and target = items[offsets[u] + p]. Fills tokens (= s.items),
/// begin, end, sequence_begin (= begin: the user's first item), vocab (= num_items + 1), users,
/// num_users, times (the target's time; empty without times), and the label column "next_item"
/// (kItem, classes = num_items + 1). Examples are ordered
/// by user, then position. Throws DataError naming `who` when min_history < 1.
Examples next_item_examples(const Sequences& s, std::int64_t min_history, const std::string& who);

/// Leave-one-out over next-item examples (users and end as filled by next_item_examples; `offsets`
/// the Sequences' offsets): per user with at least 3 interactions, the example whose target is the
/// last interaction → test, the one whose target is the second-to-last → valid, all earlier ones →
/// train. Users with fewer than 3 interactions: all their examples → train.
Splits leave_one_out(const Examples& ex, const std::vector<std::int64_t>& offsets);

/// The smallest target time t such that at least a fraction q of the times are <= t (q in (0, 1]);
/// -inf for q = 0. `times` need not be sorted. Throws DataError naming `who` on empty times.
double time_quantile(std::vector<double> times, double q, const std::string& who);

/// A global temporal split: cut_train = time_quantile(times, q_train), cut_valid =
/// time_quantile(times, q_valid); targets with time <= cut_train → train, <= cut_valid → valid,
/// later → test. Histories are prefixes, so they only ever hold earlier interactions. Throws
/// DataError naming `who` when ex.times is empty (no time column) or 0 <= q_train <= q_valid <= 1
/// does not hold.
struct TemporalSplit {
  Splits splits;
  double cut_train = 0, cut_valid = 0;
};
TemporalSplit temporal_split(const Examples& ex, double q_train, double q_valid, const std::string& who);

}  // namespace attnlab::data
