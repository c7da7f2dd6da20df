// Elementwise binary ops with NumPy broadcasting, their operators, and three unary helpers
// (neg, square, sqrt).
//
// Broadcasting (NumPy's rules): shapes are aligned at their trailing dims; a missing leading dim
// counts as 1; along each dim the sizes must be equal or one of them 1, which is repeated. So
// [B, T, H] + [H] -> [B, T, H], [B, 1, H] * [B, T, 1] -> [B, T, H], [] - [B, T] -> [B, T].
// Either side may be the broadcast one. Mismatched shapes throw ShapeError naming the op and both
// shapes; non-f32 operands throw DTypeError.
//
// Gradients: the gradient of a broadcast operand is the output gradient summed over the dims it
// was repeated along (`sum_to`, reduce.h), so it always has the operand's own shape.
//
// Backends: forward runs on oneDNN's binary primitive when one operand already has the output
// shape (oneDNN broadcasts its second source only; add and mul swap their operands, sub swaps and
// negates through a post-op); otherwise (div by a larger tensor, or both sides broadcast) a native
// TBB kernel computes the result directly without materialising the broadcast copy; so it does
// when oneDNN would only offer its slow reference loop (some patterns of rank 5 and more). Gradient
// sums over broadcast dims are native: oneDNN 2.6's reduction falls back to a reference loop for
// most axis patterns ([32, 50, 128] -> [128]: 2.9 ms against 18 us on one core).
#pragma once

#include "framework/autograd/var.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace attnlab::ops {

using autograd::Var;

/// a + b, broadcast. Output shape: broadcast_shape(a, b).
Var add(const Var& a, const Var& b);
/// a - b, broadcast.
Var sub(const Var& a, const Var& b);
/// a * b, broadcast.
Var mul(const Var& a, const Var& b);
/// a / b, broadcast. Division by zero gives inf/nan as in IEEE (no error).
Var div(const Var& a, const Var& b);
/// -x (op "neg", oneDNN eltwise linear).
Var neg(const Var& x);
/// x * x (oneDNN eltwise square).
Var square(const Var& x);
/// Square root (oneDNN eltwise sqrt); x must be positive for a finite gradient (0 gives inf).
Var sqrt(const Var& x);

Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator-(const Var& x);

/// A float operand is a rank-0 constant broadcast against the Var (records add/sub/mul/div;
/// no gradient flows to the constant): x * 0.5f, 1.f - x, 2.f / x.
Var operator+(const Var& a, float b);
Var operator+(float a, const Var& b);
Var operator-(const Var& a, float b);
Var operator-(float a, const Var& b);
Var operator*(const Var& a, float b);
Var operator*(float a, const Var& b);
Var operator/(const Var& a, float b);
Var operator/(float a, const Var& b);

// ---- Tensor-level broadcasting helpers (no autograd), for ops that broadcast internally ----

/// The broadcast shape of a and b. Throws ShapeError("<op>: cannot broadcast a [..] with b [..]: ...")
/// when they do not broadcast.
core::Shape broadcast_shape(std::string_view op, const core::Shape& a, const core::Shape& b);

/// f32 `t` repeated to `shape` (t must broadcast to it; ShapeError otherwise), times `scale`.
/// Returns t itself (shared buffer) when shapes are equal and scale is 1.
core::Tensor broadcast_to(const core::Tensor& t, const core::Shape& shape, float scale = 1.f);

namespace detail {

/// How inputs broadcast against an output shape, ready for a row loop: the output's dims with
/// size-1 dims dropped and neighbouring dims merged wherever every input treats them alike; for
/// each input its strides (elements) along those dims, 0 where it is broadcast. Always at least one
/// dim, so the innermost stride of an input is 0 (repeated) or 1 (contiguous).
struct BroadcastPlan {
  std::vector<std::int64_t> dims;
  std::vector<std::vector<std::int64_t>> strides;  // strides[input][dim]

  std::int64_t row_len() const { return dims.back(); }
  std::int64_t rows() const;
};

/// Plans `ins` broadcast to `out`; each must broadcast to `out` (checked by the caller).
BroadcastPlan broadcast_plan(const core::Shape& out, std::initializer_list<core::Shape> ins);

/// row(out_offset, in_offsets, n): one output row of n contiguous elements starting at out_offset;
/// input i's element j of the row is at in_offsets[i] + j * plan.strides[i].back().
using RowFn = std::function<void(std::int64_t out_offset, const std::int64_t* in_offsets, std::int64_t n)>;

/// Calls `row` for every output row, concurrently (TBB) over blocks of rows: rows must not depend
/// on each other.
void for_each_row(const BroadcastPlan& plan, const RowFn& row);

}  // namespace detail

}  // namespace attnlab::ops

// Var lives in attnlab::autograd: these using-declarations let argument-dependent lookup find the
// operators, so `x * w + b` works without `using namespace attnlab::ops`.
namespace attnlab::autograd {
using ops::operator+;
using ops::operator-;
using ops::operator*;
using ops::operator/;
}  // namespace attnlab::autograd
