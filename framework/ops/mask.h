// Masking: masked_fill (differentiable in x) and the two standard masks of sequence models.
//
// Convention: in masked_fill a NON-ZERO mask element marks a position to REPLACE (PyTorch's
// masked_fill). causal_mask follows it (1 = must not be seen). sequence_mask marks the VALID
// positions instead (1 = t < length, as tf.sequence_mask), so padding is its complement:
//
//   Tensor pad = (1.f - Var(ops::sequence_mask(lengths, T))).value();  // [B, T], 1 = padding
//   Var s = ops::masked_fill(scores, pad.reshape(Shape{B, 1, 1, T}), -inf);  // scores [B, H, T, T]
//
// Typical use in attention: scores [B, H, Tq, Tk] with a key-padding mask [B, 1, 1, Tk], or a
// causal mask [Tq, Tk] broadcast over [B, H].
#pragma once

#include "framework/autograd/var.h"

#include <cstdint>

namespace attnlab::ops {

using autograd::Var;

/// Returns x with the elements where mask != 0 replaced by `value` (e.g. -inf before a softmax).
/// x: f32, any shape. mask: an f32 or i64 Tensor that broadcasts to x's shape (NumPy rules; it is
/// never broadcast the other way), e.g. [B, 1, T] against [B, H, T], [B, T] against [B, T], or
/// [T, T] against [B, H, T, T]. The result has x's shape. Gradient: the output gradient where the
/// mask is 0, exactly 0 at filled positions; no gradient flows to the mask.
/// Throws ShapeError (naming both shapes) when mask does not broadcast to x, DTypeError when x is
/// not f32.
Var masked_fill(const Var& x, const core::Tensor& mask, float value);

/// f32 [B, T] with T = max_len: 1 where t < lengths[b], else 0. lengths: i64 [B].
/// Throws DTypeError unless lengths is i64, ShapeError unless it is rank 1 or when max_len < 0,
/// IndexError naming the batch row when a length is < 0 or > max_len. Not differentiable (a Tensor).
core::Tensor sequence_mask(const core::Tensor& lengths, std::int64_t max_len);

/// f32 [T, T] with T = len: 1 where j > i (the future positions a causal model must not see),
/// else 0; pass it to masked_fill as is. Throws ShapeError when len < 0.
core::Tensor causal_mask(std::int64_t len);

}  // namespace attnlab::ops
