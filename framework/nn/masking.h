// Masks of attention, in one place, with one polarity: 1 = visible (a real step, a key a query may
// see), 0 = hidden. Plugins describe what they hide and never loop over raw floats themselves.
//
//   nn::Mask m{.real = mask, .causal = true};   // padding keys hidden, and keys after the query
//   Var w = nn::masked_softmax(scores, m);      // scores [B, Tk] (one query) or [B, ..., Tq, Tk]
//
// masked_softmax: softmax over the last axis where every hidden key gets exactly zero weight.
// Hidden scores are filled with kMaskedScore, a large finite negative value (not -inf), before
// the softmax: exp underflows to exactly 0 for them, as with -inf, and a row whose keys are all
// hidden (an all-padding sequence, a left-padded sequence under a causal mask) is a uniform
// softmax instead of NaN; such rows are then multiplied by 0, so their weights are all exactly 0,
// their context vector is 0, and no gradient flows through them. Rows with a visible key are
// computed exactly as PyTorch's masked_fill(-inf) + softmax.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/tensor.h"

#include <cstdint>

namespace attnlab::nn {

/// Fill value of hidden scores before a softmax (see the top of this file).
inline constexpr float kMaskedScore = -1e30f;

/// What a query may see.
struct Mask {
  core::Tensor real{};  ///< f32 [B, Tk], non-zero on real keys, 0 on padding; undefined: every key real
  bool causal = false;  ///< query i sees keys j <= i (top-left aligned when Tq != Tk)

  /// True when the mask hides no key: no causal triangle, and every key real.
  bool hides_nothing() const;
  /// Throws ShapeError/DTypeError naming masked_softmax unless scores of shape `scores` ([B, Tk] or
  /// [B, ..., Tq, Tk]) fit the mask: `real` f32 [B, Tk], and queries and keys when causal.
  void check(const core::Shape& scores) const;
};

/// softmax over the last axis of `scores` with the keys `mask` hides at exactly zero weight (see the
/// top of this file). Throws ShapeError for scores of rank < 2 or a mask that does not fit them.
autograd::Var masked_softmax(const autograd::Var& scores, const Mask& mask);

/// For pooling over the real steps of `real` (f32 [B, T], non-zero = real): `hidden` is 1 on the
/// padding steps, [B, T, 1] (to fill before a max), `any_real` is 1 for rows with a real step,
/// [B, 1] (a row without one pools to zeros).
struct Padding {
  core::Tensor hidden, any_real;
};
Padding padding_of(const core::Tensor& real);

/// True when `real` is undefined or non-zero everywhere: a padding mask that hides nothing.
bool every_step_real(const core::Tensor& real);

}  // namespace attnlab::nn
