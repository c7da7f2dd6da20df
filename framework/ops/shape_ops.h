// Shape ops: reshape, flatten, unsqueeze/squeeze, permute/transpose, slice, concat/stack, and
// select_steps (one step per batch row).
//
// Tensors are always contiguous row-major (framework/core/tensor.h), so:
// - reshape, flatten, unsqueeze and squeeze only relabel the shape and SHARE the input's buffer
//   (no copy); their backward reshapes the gradient back (again without a copy);
// - permute, transpose, slice, concat, stack and select_steps produce new contiguous tensors.
//
// Kernels: permute runs a oneDNN reorder from a strided view of the source (its strides permuted)
// to a plain destination; concat runs the oneDNN concat primitive. Both are cached per thread by
// (shapes, perm/axis) and built once. slice and select_steps are native row copies (memcpy, TBB for
// large copies). Backward: permute -> the inverse permute, concat/stack -> slices of the gradient,
// slice/select_steps -> the gradient copied into a zero tensor of the input's shape.
//
// Element types: every op accepts f32. The buffer-sharing ops, slice and select_steps move bytes
// and accept i64 as well; permute/transpose/concat/stack of i64 tensors use a native copy
// (oneDNN has no i64), so integer index tensors can be rearranged too. Only f32 inputs can
// require gradients (autograd::Var enforces it).
//
// Axes may be negative (counted from the end, as in Python/PyTorch). Errors name the op and every
// shape: ShapeError for a bad axis, permutation, rank or size mismatch; IndexError for a slice
// bound or step index out of range; DTypeError for a non-i64 step index.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/shape.h"
#include "framework/core/tensor.h"

#include <cstdint>
#include <vector>

namespace attnlab::ops {

using autograd::Var;

/// The same elements under a new shape of equal numel; one dim may be -1 (inferred). Shares x's
/// buffer. Throws ShapeError when the element counts differ, or for more than one -1 or a dim < -1.
Var reshape(const Var& x, core::Shape shape);

/// Merges dims [start_axis, rank) into one: [B, T, H] -> [B, T*H] for start_axis = 1 (the default),
/// [B, T, H] -> [B*T*H] for 0. Shares x's buffer. ShapeError for a start_axis outside [-rank, rank).
Var flatten(const Var& x, int start_axis = 1);

/// Inserts a dim of size 1 before `axis`; axis in [-(rank+1), rank] (-1 appends one at the end):
/// [B, H] -> [B, 1, H] for axis 1. Shares x's buffer.
Var unsqueeze(const Var& x, int axis);

/// Removes dim `axis`, which must have size 1 (ShapeError otherwise): [B, 1, H] -> [B, H] for
/// axis 1. Shares x's buffer.
Var squeeze(const Var& x, int axis);

/// Reorders the dims: output dim i is input dim perm[i], e.g. [B, T, H, D] with perm {0, 2, 1, 3}
/// -> [B, H, T, D]. perm must hold every axis in [0, rank) exactly once (negative entries count
/// from the end); ShapeError otherwise. Returns a contiguous copy.
Var permute(const Var& x, const std::vector<int>& perm);

/// Swaps dims a and b (a permute): [B, T, H] -> [B, H, T] for (1, 2). A contiguous copy.
/// ShapeError for an axis outside [-rank, rank).
Var transpose(const Var& x, int a, int b);

/// Elements [start, end) along `axis`, as Python's x[..., start:end, ...] but without clamping:
/// negative start/end count from the end (-1 is the last index); after that they must satisfy
/// 0 <= start <= end <= size(axis), else IndexError naming the shape, axis and bounds. end = start
/// gives an empty dim. [B, T, H] with (axis 1, 0, -1) -> [B, T-1, H]. A contiguous copy.
Var slice(const Var& x, int axis, std::int64_t start, std::int64_t end);

/// Joins tensors of equal rank along `axis`: every dim but `axis` must agree (ShapeError naming all
/// shapes otherwise); [B, T1, H] and [B, T2, H] on axis 1 -> [B, T1+T2, H]. One input gives a copy;
/// an empty list is a ShapeError. All inputs must share one dtype (DTypeError). Inputs with a zero
/// dim are allowed (they contribute nothing).
Var concat(const std::vector<Var>& xs, int axis);

/// Joins tensors of identical shape along a NEW dim inserted at `axis` (in [-(rank+1), rank]):
/// N tensors [B, H] on axis 1 -> [B, N, H]. ShapeError naming all shapes when they differ.
Var stack(const std::vector<Var>& xs, int axis);

/// Per batch row, the step at index[b]: x [B, T, ...], index i64 [B] -> [B, ...]
/// (out[b] = x[b, index[b]]). The "last valid step" pooling uses it with index = lengths - 1.
/// x must have rank >= 2 and index shape [B] (ShapeError); DTypeError for a non-i64 index;
/// IndexError naming the row, the index and T for an index outside [0, T). Backward writes each
/// row's gradient into its step of a zero tensor [B, T, ...].
Var select_steps(const Var& x, const core::Tensor& index);

}  // namespace attnlab::ops
