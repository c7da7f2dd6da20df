// The data pipeline of a trial: a dataset plugin and the preprocessing steps of a spec, run in the
// order dataset.h describes, into examples ready for the Batcher (batcher.h).
//
//   1. the steps are built (plugin configs are bound already; a step's constructor may still
//      reject a combination of options) and their order checked: row steps first, then example steps;
//   2. Dataset::load()                                      raw table (or none: generated data)
//   3. row steps (Preprocess::Stage::kRows), in spec order   on the table
//   4. Dataset::build()                                     examples + splits; then checked:
//      Examples::validate, split indices within [0, N) and in at most one split, train not empty
//   5. example steps (kExamples), in spec order             fitted on splits.train only
//   6. Examples::validate again (when example steps ran)
//   7. seq_len: the last pad_truncate step's max_len, else the longest history (at least 1)
//
// Every error is a DataError (or the config/plugin errors of building a plugin) that names where:
//   "preprocess[3] (kcore): a row step cannot follow example steps (preprocess[1] (standardize))"
//   "preprocess[0] (kcore): dataset 'marker' has no table (it generates its examples); row steps need a table-backed
//   dataset" "preprocess[2] (outliers): no column 'x'; columns: user, item, rating"   (a step's own message,
//   re-prefixed) "dataset 'csv': the training split is empty after preprocessing (0 of 120 examples; valid 60, test
//   60)" "dataset 'csv': the longest history has 5000 steps (> 1024); add a pad_truncate step (e.g. {type:
//   pad_truncate, max_len: 200})"
#pragma once

#include "framework/core/rng.h"
#include "framework/data/dataset.h"
#include "framework/registry/plugin_spec.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::data {

/// Histories longer than this need an explicit pad_truncate step (a batch pads every history to
/// seq_len, so one very long history would make every batch that long).
inline constexpr std::int64_t kMaxUnboundedSeqLen = 1024;

/// What a trial trains and evaluates on.
struct PreparedData {
  Examples examples;
  Splits splits;
  std::int64_t seq_len = 0;  ///< padded history length of the batches (>= 1)
  /// When no step caps the length (seq_len is the longest history): how the training histories'
  /// lengths spread, "median 13, p90 30, p99 52, mean 16.3"; empty otherwise. With `wasteful`: padding
  /// every batch to seq_len would mostly pad (the trainer then pads per batch, or warns).
  std::string uncapped_lengths;
  bool wasteful = false;
  std::int64_t p99_length = 0;
  std::string protocol;  ///< how the splits were made (Built::protocol)
  DataReport report;     ///< the dataset's and every step's report lines, then a summary line
  /// Per fitted step, "preprocess[<index>].<type>" (index in the spec's list) and what it learned,
  /// e.g. ("preprocess[2].standardize", {"mean": [...], "std": [...]}).
  std::vector<std::pair<std::string, Fitted>> fitted{};
  /// Popularity of each id in the TRAINING split, [max(vocab, kItem classes)] (empty when both are
  /// 0), for popularity-sampled negatives. Counted, per training example: its kItem label id (the
  /// first kItem task) when there is one, else its target when the examples have targets, else the
  /// tokens of its history, where a token position shared by several examples (the prefixes of one
  /// sequence) counts once. Missing ids (-1) and padding (0) count nowhere.
  std::vector<float> item_counts{};
};

/// Runs the pipeline above. The dataset gets Context{&rng, base_dir}, each step Context{&rng}.
/// Throws DataError as listed at the top of this file; registry::PluginError / config::ConfigError
/// when a spec names an unknown plugin or does not bind.
PreparedData prepare_data(const config::PluginSpec<Dataset>& dataset,
                          const std::vector<config::PluginSpec<Preprocess>>& steps, core::Rng& rng,
                          const std::string& base_dir);

}  // namespace attnlab::data
