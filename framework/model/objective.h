// The training objective family: what a training step learns from, and where the heads apply.
//
//   last           one example per batch row: the pooled representation of its history predicts
//                  its labels. The default, and the only objective for data that are not sequences.
//   all_positions  one sequence per batch row (data/sequence_batch.h): the heads score the
//                  representation at every labelled position — the next item after each step —
//                  as SASRec, GRU4Rec, Caser and NextItNet train. Needs a causal model (no step
//                  sees a later one); evaluation scores the last position (model.pooling: last).
//   cloze          one sequence per batch row with some steps replaced by a mask token (BERT4Rec):
//                  the heads score the masked steps against their items. Evaluation appends a mask
//                  step to the history and scores it.
//
// An objective decides the training batches (their units and builder) and the evaluation batches'
// options; the model (model.h) asks it whether heads apply per position, whether its stages must
// be causal, and whether inputs carry mask steps.
#pragma once

#include "framework/data/batcher.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnlab::model {

/// The units one training epoch iterates and how a batch of them is built (data::Batcher's input).
struct TrainingBatches {
  std::vector<std::int64_t> units;
  data::Batcher::Builder build;
  std::string describe;  ///< e.g. "all positions of 31,013 training sequences (194,292 targets)"
};

class Objective {
 public:
  static constexpr const char* kFamily = "objective";
  struct Context {};
  virtual ~Objective() = default;

  /// True: training labels are [B, T] and the heads score every labelled position (no pooling).
  virtual bool per_position() const { return false; }
  /// True: the representation at a step must not depend on later steps (extractor and attention causal).
  virtual bool needs_causal() const { return false; }
  /// True: inputs hold mask steps (Batch::masked) that the model embeds with a learned mask vector.
  virtual bool masks_inputs() const { return false; }

  /// The training batches over `train_rows` (the training split's example rows) of `examples`
  /// (which must outlive the returned builder). `options` are the batch options the trainer wants
  /// (seq_len, seen); `seed` is the trial's seed (objectives fold the epoch in). Throws
  /// data::DataError when the data do not suit the objective.
  virtual TrainingBatches training_batches(const data::Examples& examples, const std::vector<std::int64_t>& train_rows,
                                           const data::BatchOptions& options, std::uint64_t seed) const = 0;
  /// The options of evaluation batches (cloze: append_mask); default: as given.
  virtual data::BatchOptions eval_options(data::BatchOptions options) const { return options; }
};

}  // namespace attnlab::model
