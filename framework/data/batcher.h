// Batches: examples (examples.h) gathered into padded tensors, in a seeded order, with the next
// batch built on a TBB task while the current one trains.
#pragma once

#include "framework/core/tensor.h"
#include "framework/data/examples.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace attnlab::data {

/// One batch of B examples. Histories are LEFT-padded to T = seq_len (the most recent step is at
/// T-1) and truncated to their last T steps; mask is 1 on real steps and 0 on padding.
struct Batch {
  std::vector<std::int64_t> rows;   ///< example indices, in batch order
  core::Tensor ids;                 ///< i64 [B, T] (undefined for dense-step data)
  core::Tensor steps;               ///< f32 [B, T, step_dim] (dense-step data only)
  core::Tensor mask;                ///< f32 [B, T]
  core::Tensor users;               ///< i64 [B] (when the examples have users)
  core::Tensor targets;             ///< i64 [B] (when the examples have targets)
  core::Tensor categorical;         ///< i64 [B, F] (F > 0)
  core::Tensor dense;               ///< f32 [B, D] (D > 0)
  std::vector<core::Tensor> labels; ///< per Examples::labels entry: i64 [B] (kClass/kItem) or f32 [B]
  std::int64_t size() const { return static_cast<std::int64_t>(rows.size()); }
};

/// Gathers `rows` of `examples` into a batch padded to seq_len.
Batch make_batch(const Examples& examples, std::span<const std::int64_t> rows, std::int64_t seq_len);

/// Iterates a split in batches. The order of epoch e is a shuffle seeded by (seed, e) (or the split
/// order without shuffle), so an epoch can be resumed from any batch: start_epoch(e, position).
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
  Batcher(const Examples& examples, std::vector<std::int64_t> rows, Options options);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Starts epoch `epoch` at batch `position` (0: the beginning).
  void start_epoch(std::int64_t epoch, std::int64_t position = 0);
  /// The next batch of the epoch, or nullopt at its end.
  std::optional<Batch> next();
  std::int64_t position() const;          ///< batches handed out in this epoch
  std::int64_t batches_per_epoch() const;
  std::int64_t epoch() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnlab::data
