// Batches: examples (examples.h) gathered into padded tensors, in a seeded order, with the next
// batch built on a TBB task while the current one trains.
#pragma once

#include "framework/core/tensor.h"
#include "framework/data/examples.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace attnlab::data {

/// What a model reads from a batch: views of the batch's tensors (valid while the batch lives).
struct ModelInput {
  core::Tensor tokens{};       ///< i64 [B, T] token ids (0 = padding), or f32 [B, T, step_dim] dense steps
  core::Tensor mask{};         ///< f32 [B, T]: 1 on real steps, 0 on padding
  core::Tensor masked{};       ///< f32 [B, T]: 1 where the step is the mask token (cloze); undefined: none
  core::Tensor users{};        ///< i64 [B] (undefined when the examples have no users)
  core::Tensor targets{};      ///< i64 [B] candidate/target items (undefined when none)
  core::Tensor categorical{};  ///< i64 [B, F] side features (undefined when F = 0)
  core::Tensor dense{};        ///< f32 [B, D] side features (undefined when D = 0)
  /// Per row, the items its sequence holds (Batch::seen_*); empty when the batch was built without.
  std::span<const std::int64_t> seen_offsets{}, seen_items{};
  /// B: the first dim of the first defined tensor of tokens, dense, categorical, users, targets (0: none).
  std::int64_t size() const {
    for (const core::Tensor* t : {&tokens, &dense, &categorical, &users, &targets})
      if (t->defined() && t->rank() >= 1) return t->shape()[0];
    return 0;
  }
};

/// One batch of B examples. Histories are LEFT-padded to T = seq_len (the most recent step is at
/// T-1) and truncated to their last T steps; mask is 1 on real steps and 0 on padding.
struct Batch {
  std::vector<std::int64_t> rows;  ///< example indices, in batch order (sequence batches: each row's longest example)
  core::Tensor ids;                ///< i64 [B, T] (undefined for dense-step data)
  core::Tensor steps;              ///< f32 [B, T, step_dim] (dense-step data only)
  core::Tensor mask;               ///< f32 [B, T]
  core::Tensor masked;             ///< f32 [B, T]: 1 where ids hold the mask token (cloze); undefined otherwise
  core::Tensor users;              ///< i64 [B] (when the examples have users)
  core::Tensor targets;            ///< i64 [B] (when the examples have targets)
  core::Tensor categorical;        ///< i64 [B, F] (F > 0)
  core::Tensor dense;              ///< f32 [B, D] (D > 0)
  /// Per Examples::labels entry: i64 (kClass/kItem) or f32, [B] for example batches, [B, T] for
  /// sequence batches (sequence_batch.h: the label each position is trained to predict).
  std::vector<core::Tensor> labels;
  /// With BatchOptions::seen: per row, the distinct items of its whole sequence before the target
  /// (sequence_of, not only the padded window) and its item labels, sorted: row r's are
  /// seen_items[seen_offsets[r], seen_offsets[r + 1]) (B + 1 offsets).
  std::vector<std::int64_t> seen_offsets, seen_items;
  /// When the examples record true informative positions (Examples::truth): per row, those that
  /// survive truncation, in the batch's padded coordinates (0..seq_len-1), row r's at
  /// truth[truth_offsets[r], truth_offsets[r + 1]); both empty otherwise.
  std::vector<std::int64_t> truth_offsets, truth;
  std::int64_t size() const { return static_cast<std::int64_t>(rows.size()); }
  /// The model's view of this batch.
  ModelInput input() const;
};

struct BatchOptions {
  std::int64_t seq_len = 0;  ///< T (>= 1; >= 2 with append_mask)
  /// Cloze evaluation: the history's last T - 1 steps, then the mask token at T - 1 (ids 0 there,
  /// mask 1, masked 1): the model predicts the step after the history at the mask.
  bool append_mask = false;
  bool seen = false;  ///< fill seen_offsets / seen_items (the items sampled negatives may avoid)
  /// Pad to the batch's own longest history (rounded up to a multiple of kTrimStep, at most
  /// seq_len) instead of seq_len (data.padding: batch). Left padding keeps each history's steps at
  /// the end, so trimming drops padding columns only.
  bool trim = false;
};

/// Trimmed batches have a length that is a multiple of this (or seq_len): few distinct shapes, so
/// kernels built for one length are reused.
inline constexpr std::int64_t kTrimStep = 8;

/// Gathers `rows` of `examples` into a batch padded to T = seq_len (or, with `trim`, the batch's
/// own length, see BatchOptions::trim): row r's history h (length L) fills
/// ids[r, T - min(L, T) : T] with h's last min(L, T) tokens, 0 (padding) before them; mask is 1
/// exactly there. Dense-step examples (step_dim > 0) fill steps[r, t, :] the same way (zeros on
/// padding) and leave ids undefined. categorical / dense stay 2-D ([B, 1] for one feature); users,
/// targets and labels are 1-D [B]. Tensors whose source vectors are empty stay undefined.
/// Throws DataError "make_batch: ..." when seq_len < 1 (< 2 with append_mask, which also needs token
/// data), rows is empty or a row is outside [0, N).
Batch make_batch(const Examples& examples, std::span<const std::int64_t> rows, const BatchOptions& options);
inline Batch make_batch(const Examples& examples, std::span<const std::int64_t> rows, std::int64_t seq_len) {
  return make_batch(examples, rows, BatchOptions{.seq_len = seq_len});
}

/// Everything example `row` saw before its target: tokens[sequence_begin, end) (begin without
/// Examples::sequence_begin), however much of it the history window keeps.
std::span<const std::int64_t> sequence_of(const Examples& examples, std::int64_t row);

/// The distinct items of `tokens` ranges and `extra` ids (ids < 1 ignored), sorted, appended to
/// `items` as one more row of a seen_offsets / seen_items pair (`offsets` gains its end).
void append_seen(std::vector<std::int64_t>& offsets, std::vector<std::int64_t>& items,
                 std::span<const std::int64_t> tokens, std::span<const std::int64_t> extra);

/// Iterates a split in batches. The order of epoch e is a Fisher–Yates shuffle of `rows` driven by
/// core::Rng(seed).fork(e) (or `rows` as given without shuffle), so an epoch can be resumed from any
/// batch: start_epoch(e, position) then yields exactly the batches position, position + 1, ... of
/// that epoch. Batch k holds order[k * batch_size, (k + 1) * batch_size) (the last one shorter,
/// or dropped with drop_last). What a batch is made of is the builder's business: by default
/// make_batch of example rows; objectives that train whole sequences iterate sequence indices and
/// build with sequence_batch.h (the builder also receives the epoch, for per-epoch randomness).
///
/// Prefetch: after handing out batch k, batch k + 1 is built on a tbb::task_group task (in the
/// caller's current arena) while the caller trains on batch k; next() waits for it. With a one-slot
/// arena the task simply runs inside that wait, so results never depend on the arena size, and
/// prefetch on or off gives identical batches. An error in the task is rethrown by next().
/// The destructor and start_epoch wait for (and discard) a task in flight.
///
/// `examples` must outlive the Batcher and not change while it exists. Not thread-safe: one caller.
/// Before any start_epoch call the Batcher stands at the beginning of epoch 0.
/// The constructor throws DataError "batcher: ..." when batch_size < 1, seq_len < 1 or a row is
/// outside [0, N); start_epoch when epoch < 0 or position is outside [0, batches_per_epoch()].
class Batcher {
 public:
  struct Options {
    std::int64_t batch_size = 32;
    std::int64_t seq_len = 0;
    bool shuffle = true;
    std::uint64_t seed = 0;
    bool drop_last = false;
    bool prefetch = true;  ///< build batch k+1 on a TBB task while batch k is used
  };
  /// Builds the batch of `units` (entries of the iterated list, in batch order) in epoch `epoch`.
  /// Must be callable from a TBB task and depend on its arguments only (resume and prefetch rely on it).
  using Builder = std::function<Batch(std::span<const std::int64_t> units, std::int64_t epoch)>;
  /// Example rows, built with make_batch(examples, rows, {options.seq_len}).
  Batcher(const Examples& examples, std::vector<std::int64_t> rows, Options options);
  /// Any units (0 <= unit; the builder checks them), built by `build`.
  Batcher(std::vector<std::int64_t> units, Builder build, Options options);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Starts epoch `epoch` at batch `position` (0: the beginning).
  void start_epoch(std::int64_t epoch, std::int64_t position = 0);
  /// The next batch of the epoch, or nullopt at its end.
  std::optional<Batch> next();
  std::int64_t position() const;  ///< batches handed out in this epoch
  std::int64_t batches_per_epoch() const;
  std::int64_t epoch() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnlab::data
