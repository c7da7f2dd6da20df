// Batched matrix products and the fully connected layer, on oneDNN's matmul primitive (forward and
// backward).
//
// Transposes never copy: a transposed operand is handed to oneDNN as a strided memory descriptor
// over the row-major buffer. Backward runs the two gradient products as further matmul primitives
// (again with transposes as strides). Every primitive is built once per (shapes, transposes,
// bias, activation) and cached per thread (onednn::cached).
//
// All operands use plain row-major layouts. oneDNN's blocked weights layout (format_tag::any)
// would make x [32, 6400] · wᵀ [6400, 1000] 1.7x faster on one core (1.8 ms vs 3.0 ms), but the
// weights change at every optimizer step and reordering them costs 3.0 ms per call, more than it
// saves (still 10% slower at 256 rows); the reordered copy cannot be cached safely because tensors
// carry no version to tell an in-place update.
#pragma once

#include "framework/autograd/var.h"

namespace attnlab::ops {

using autograd::Var;

/// Batched matrix product: op(a) · op(b), where op(t) transposes the last two dims of t when the
/// flag is set.
///   a: [..., M, K]   ([..., K, M] if trans_a)
///   b: [..., K, N]   ([..., N, K] if trans_b)   -> [..., M, N]
/// Both ranks are >= 2. The batch dims (all but the last two) of a and b are equal, or b has rank 2
/// and is shared by every batch element of a (then, when !trans_a, a is flattened to
/// [prod(...) * M, K] and the product is one 2-D GEMM). There is no other broadcasting.
/// Backward: da = dy · op(b)ᵀ, db = op(a)ᵀ · dy; for a shared rank-2 b, db is summed over the batch.
/// Throws DTypeError unless both are f32, ShapeError (naming both shapes) for a rank below 2, an
/// inner-dim mismatch or a batch mismatch.
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false);

/// Activation applied to a linear layer's output.
enum class Activation { none, relu, tanh, sigmoid, gelu };

/// Fully connected layer: act(x · wᵀ + b).
///   x: [..., in]  (rank >= 1; the leading dims are flattened into rows)
///   w: [out, in]  (PyTorch's layout)
///   b: [out], or an undefined Var for no bias          -> [..., out]
/// The bias and relu/tanh/sigmoid run inside the matmul primitive (bias + eltwise post-op); their
/// backward reads the saved output (oneDNN's *_use_dst_for_bwd eltwise backward). gelu is applied
/// after the product, unfused, as ops::gelu.
/// Backward: dx = dz · w, dw = dzᵀ · x, db = dz summed over all rows, where dz is the gradient
/// before the activation.
/// Throws DTypeError unless every operand is f32; ShapeError (naming the shapes) when w is not
/// rank 2, x is rank 0 or its last dim is not w's in, or b is not [out].
Var linear(const Var& x, const Var& w, const Var& b = {}, Activation act = Activation::none);

}  // namespace attnlab::ops
