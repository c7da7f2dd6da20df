// Reference kernels: naive loops, templated on the element type, used by tests only.
//
// Each op has a forward `f(inputs...) -> Array` and a backward `b(inputs..., gy) -> grads` here,
// written as plainly as possible so that they are easy to trust. Tests compare the real (oneDNN or
// native) op against them in f32, and check them against central finite differences in double.
// Integer inputs (indices, labels, lengths) are carried as exactly-representable T values.
#pragma once

#include "framework/core/shape.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace attnlab::ops::reference {

using core::Shape;

template <class T>
struct Array {
  Shape shape;
  std::vector<T> v;

  Array() = default;
  explicit Array(Shape s, T fill = T(0)) : shape(std::move(s)), v(static_cast<std::size_t>(shape.numel()), fill) {}
  Array(Shape s, std::vector<T> values) : shape(std::move(s)), v(std::move(values)) {}

  std::int64_t numel() const { return static_cast<std::int64_t>(v.size()); }
  T& operator[](std::int64_t i) { return v[static_cast<std::size_t>(i)]; }
  const T& operator[](std::int64_t i) const { return v[static_cast<std::size_t>(i)]; }
  bool empty() const { return v.empty() && shape.rank() == 0; }
};

/// Flat row-major offset of a multi-index.
inline std::int64_t offset(const Shape& s, const std::vector<std::int64_t>& idx) {
  std::int64_t o = 0;
  for (int i = 0; i < s.rank(); ++i) o = o * s[i] + idx[static_cast<std::size_t>(i)];
  return o;
}

/// Multi-index of a flat row-major offset.
inline std::vector<std::int64_t> unravel(const Shape& s, std::int64_t flat) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(s.rank()));
  for (int i = s.rank() - 1; i >= 0; --i) {
    idx[static_cast<std::size_t>(i)] = flat % s[i];
    flat /= s[i];
  }
  return idx;
}

}  // namespace attnlab::ops::reference
