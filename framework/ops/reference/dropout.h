// Reference inverted dropout. It redraws the op's mask from its own Rng: one rng.uniform() per
// element in row-major order, element dropped iff the draw is < p (see framework/ops/dropout.h).
#pragma once

#include "framework/core/rng.h"
#include "framework/ops/reference/array.h"

namespace attnlab::ops::reference {

/// The multiplier of each element: 0 (dropped) or 1 / (1 - p); all ones when !training or p == 0.
template <class T>
Array<T> dropout_mask(const Shape& s, float p, bool training, core::Rng& rng) {
  Array<T> m(s, T(1));
  if (!training || p == 0.f) return m;
  for (std::int64_t i = 0; i < m.numel(); ++i) {
    const bool drop = rng.uniform() < p;
    m[i] = drop ? T(0) : T(1) / (T(1) - static_cast<T>(p));
  }
  return m;
}

/// y = x * mask, elementwise; the backward is gy * mask with the same mask.
template <class T>
Array<T> apply_mask(const Array<T>& x, const Array<T>& mask) {
  Array<T> y(x.shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) y[i] = x[i] * mask[i];
  return y;
}

}  // namespace attnlab::ops::reference
