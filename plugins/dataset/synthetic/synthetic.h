// dataset/synthetic: the default dataset — generated user sequences with PLANTED attention. It needs
// no files, is deterministic given the trial's data Rng, and records which positions matter
// (Examples::truth), so a model's attention weights can be scored against the truth.
//
// The world (drawn once per dataset from the Rng):
//   - items 1..num_items are dealt at random into num_topics topics of (almost) equal size;
//   - in every topic, a fraction signal_fraction of its items (at least one, at most all but one)
//     are SIGNAL items ("strong interest": the items a user buys); the others are BACKGROUND items
//     ("browsing"). Signal items are the only content cue of relevance: without them no model
//     could tell the planted positions from the rest;
//   - every signal item has a fixed successor: the next signal item of its topic in a random cycle;
//   - every user has user_interests distinct interest topics.
//
// One example (a sequence of seq_len items, i.i.d. across examples):
//   1. a user u (uniform), and the TARGET topic t: one of u's interest topics (uniform);
//   2. k = `informative` distinct positions (uniform): each holds a signal item of t (uniform) —
//      these are the truth positions, recorded as offsets into the history, ascending;
//   3. every other position is NOISE: with probability `decoy` a signal item of a topic s != t
//      (never letting s reach k signal items, so t stays the topic with the most signal items;
//      when the cap would be hit the position gets background noise instead); else with probability
//      `distractor` a background item of one of u's OTHER interest topics (none when
//      user_interests = 1: then background noise); else a background item of any topic.
//   With the default distractor, u's other interest topics fill about half the sequence, so the most
//   frequent topic of the sequence is almost never t: counting items does not solve the task, finding
//   the informative positions does.
//
// Labels (tasks; each kept only when listed in `tasks`), all functions of the truth positions except
// where noted:
//   topic      kClass, classes = num_topics: t. class_names "topic0".."topic<n-1>".
//   next_item  kItem, classes = num_items + 1: the successor of the signal item at the LAST truth
//              position (deterministic, so a model can reach 100%; it needs the order too).
//   click      kBinary: the candidate item (Examples::targets) is positive (1) iff its topic is t.
//              Candidates: with probability 1/2 an item of t (uniform over all its items), else an item
//              of another topic — half of the time one of u's other interest topics (hard negatives,
//              frequent in the history), otherwise any topic != t.
//   rating     kValue in {1,..,5}: round(base + N(0, rating_noise)) clamped to [1, 5], for the same
//              candidate, base = 5 if its topic is t, 3 if it is another of u's interest topics (the
//              personalised part: it depends on the user, not only on the truth positions), 1 else.
// Examples also get users (num_users = num_users) and, when click or rating is listed, targets.
//
// Layout: one token array of N * seq_len items, example i = [i * seq_len, (i + 1) * seq_len).
// Splits: `split: random` shuffles `sequences` examples into train_ratio / valid_ratio / rest
// (data::random_split, seeded from the Rng); `split: count` generates train + valid + test examples
// and takes them in that order (they are i.i.d., so order is as good as a shuffle).
#pragma once

#include "framework/core/rng.h"
#include "framework/data/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnlab::plugins {

struct SyntheticConfig {
  std::int64_t num_items = 1000;
  std::int64_t num_topics = 20;
  double signal_fraction = 0.2;
  std::int64_t num_users = 1000;
  std::int64_t user_interests = 3;
  std::int64_t seq_len = 50;
  std::int64_t informative = 3;
  double distractor = 0.5;
  double decoy = 0.0;
  double rating_noise = 0.5;
  std::vector<std::string> tasks{"topic", "next_item", "click", "rating"};
  std::string split = "random";
  std::int64_t sequences = 20000;
  double train_ratio = 0.8;
  double valid_ratio = 0.1;
  std::int64_t train = 16000;
  std::int64_t valid = 2000;
  std::int64_t test = 2000;

  /// The input, for `attnlab plugins dataset/synthetic` (registry.h): none.
  static constexpr const char* kFormat =
      "no files: the sequences are generated from the trial's data seed; a spec gives the type and any options:\n"
      "  data:\n"
      "    dataset: {type: synthetic, num_items: 500, seq_len: 30}";

  template <class V>
  void visit(V& v) {
    v("num_items", num_items).min(2).doc("items (ids 1..num_items; 0 is padding); at least 2 per topic");
    v("num_topics", num_topics).min(2).doc("topics the items are dealt into");
    v("signal_fraction", signal_fraction)
        .range(0.0, 1.0)
        .doc("fraction of each topic's items that are signal items (at least 1, at most all but 1)");
    v("num_users", num_users).min(1).doc("users");
    v("user_interests", user_interests).min(1).doc("interest topics per user (at most num_topics)");
    v("seq_len", seq_len).min(1).doc("items per sequence");
    v("informative", informative).min(1).doc("planted (truth) positions per sequence, k <= seq_len");
    v("distractor", distractor)
        .range(0.0, 1.0)
        .doc("probability that a noise position holds an item of the user's other interest topics");
    v("decoy", decoy)
        .range(0.0, 1.0)
        .doc("probability that a noise position holds a signal item of another topic (distractor + decoy <= 1)");
    v("rating_noise", rating_noise).min(0.0).doc("standard deviation of the rating noise before rounding");
    v("tasks", tasks).choices({"topic", "next_item", "click", "rating"}).doc("label columns to produce, in this order");
    v("split", split)
        .choices({"random", "count"})
        .doc("random: sequences split by ratios; count: train/valid/test sequences");
    v("sequences", sequences).min(1).doc("sequences to generate (split: random)");
    v("train_ratio", train_ratio).range(0.0, 1.0).doc("fraction of sequences for training (split: random)");
    v("valid_ratio", valid_ratio).range(0.0, 1.0).doc("fraction for validation (split: random); the rest is test");
    v("train", train).min(1).doc("training sequences (split: count)");
    v("valid", valid).min(0).doc("validation sequences (split: count)");
    v("test", test).min(0).doc("test sequences (split: count)");
  }
};

/// The generated examples and the hidden world they came from (for tests and analysis).
struct SyntheticData {
  data::Examples examples;
  std::vector<std::int64_t> item_topic;    ///< [num_items + 1]: topic of item i (item_topic[0] = -1)
  std::vector<std::uint8_t> item_signal;   ///< [num_items + 1]: 1 for a signal item
  std::vector<std::int64_t> successor;     ///< [num_items + 1]: successor of a signal item (0 otherwise)
  std::vector<std::int64_t> user_topics;   ///< [num_users * user_interests]: user u's interests
  std::vector<std::int64_t> target_topic;  ///< [N]: the target topic of each example
};

/// Checks a config: throws data::DataError "dataset synthetic: <what>" when informative > seq_len,
/// user_interests > num_topics, num_items < 2 * num_topics, distractor + decoy > 1,
/// train_ratio + valid_ratio > 1, or `tasks` is empty or repeats a task.
void check_synthetic_config(const SyntheticConfig& c);

/// Generates n sequences (see the top of this file) from `rng` (advanced). Deterministic: the same
/// config and Rng state give the same bytes. Throws what check_synthetic_config throws.
SyntheticData generate_synthetic(const SyntheticConfig& c, std::int64_t n, core::Rng& rng);

class SyntheticDataset : public data::Dataset {
 public:
  /// Checks the config at once (check_synthetic_config); ctx.rng must be set (DataError otherwise).
  SyntheticDataset(const SyntheticConfig& c, const Context& ctx);
  data::Built build(data::Table table, data::DataReport& report) override;

 private:
  SyntheticConfig c_;
  core::Rng rng_;
};

}  // namespace attnlab::plugins
