// Reference inverted dropout. It redraws the op's mask from its own Rng by the rule stated in
// framework/ops/dropout.h: one next_u64() as the key, then element i's draw is the i-th output of a
// splitmix64 stream seeded with the key, its top 24 bits as a uniform in [0, 1); dropped iff < p.
#pragma once

#include "framework/core/rng.h"
#include "framework/ops/reference/array.h"

namespace attnlab::ops::reference {

/// The multiplier of each element: 0 (dropped) or 1 / (1 - p); all ones when !training or p == 0.
template <class T>
Array<T> dropout_mask(const Shape& s, float p, bool training, core::Rng& rng) {
  Array<T> m(s, T(1));
  if (!training || p == 0.f) return m;
  std::uint64_t state = rng.next_u64();
  for (std::int64_t i = 0; i < m.numel(); ++i) {
    state += 0x9e3779b97f4a7c15ULL;  // splitmix64: advance, then finalise
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z = z ^ (z >> 31);
    const float u = static_cast<float>(z >> 40) / 16777216.f;
    m[i] = u < p ? T(0) : T(1) / (T(1) - static_cast<T>(p));
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
