// Embedding lookup: a gather of table rows by integer id, as torch.nn.functional.embedding.
//
// Native kernel (oneDNN has no gather): the forward copies one row per id (memcpy, TBB-parallel
// over ids for large lookups). The backward scatter-adds the output gradient into a dense [V, D]
// gradient that is zero except for the rows that were looked up.
//
// Determinism: training must be bitwise reproducible whatever the thread count, so the backward
// never lets threads race on a row or accumulate in scheduling order. It sorts the (id, position)
// pairs, then gives each distinct id to exactly one task, which sums that id's gradient rows in
// ascending flat position. The result is therefore bitwise identical for 1, 2 or N threads.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/tensor.h"

#include <cstdint>

namespace attnlab::ops {

using autograd::Var;

/// table [V, D] f32, ids i64 of any shape S -> [S..., D] with out[i...] = table[ids[i...]]
/// (ids [B, T] -> [B, T, D]; ids [B] -> [B, D]; a rank-0 id -> [D]).
///
/// padding_idx: when >= 0, the row that receives no gradient (its output is still the table row, as
/// in PyTorch, so initialise that row to zero for a "no item" id). Must be < V; negative means
/// "none".
///
/// Throws ShapeError unless the table has rank 2 (naming the shapes), DTypeError for non-i64 ids or
/// a non-f32 table, and IndexError for an id outside [0, V), naming the op, the id, its flat
/// position in ids and V, or for padding_idx >= V.
Var embedding(const Var& table, const core::Tensor& ids, std::int64_t padding_idx = -1);

}  // namespace attnlab::ops
