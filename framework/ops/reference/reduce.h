// Reference reductions over one axis (tests only): x viewed as [outer, n, inner] around the axis.
#pragma once

#include "framework/ops/reference/array.h"

#include <limits>

namespace attnlab::ops::reference {

struct AxisView {
  std::int64_t outer, n, inner;
  Shape out;  // keepdim ? axis set to 1 : axis removed
};

inline AxisView axis_view(const Shape& s, int axis, bool keepdim) {
  if (axis < 0) axis += s.rank();
  std::vector<std::int64_t> out = s.dims();
  if (keepdim)
    out[static_cast<std::size_t>(axis)] = 1;
  else
    out.erase(out.begin() + axis);
  return {s.prod(0, axis), s[axis], s.prod(axis + 1, s.rank()), Shape(std::move(out))};
}

/// mean ? the mean : the sum over `axis`.
template <class T>
Array<T> sum_axis(const Array<T>& x, int axis, bool keepdim, bool mean) {
  const auto v = axis_view(x.shape, axis, keepdim);
  Array<T> y(v.out);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t k = 0; k < v.n; ++k)
      for (std::int64_t i = 0; i < v.inner; ++i) y[o * v.inner + i] += x[(o * v.n + k) * v.inner + i];
  if (mean)
    for (auto& e : y.v) e /= static_cast<T>(v.n);
  return y;
}

template <class T>
Array<T> sum_axis_grad(const Array<T>& x, int axis, bool keepdim, bool mean, const Array<T>& gy) {
  const auto v = axis_view(x.shape, axis, keepdim);
  Array<T> gx(x.shape);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t k = 0; k < v.n; ++k)
      for (std::int64_t i = 0; i < v.inner; ++i)
        gx[(o * v.n + k) * v.inner + i] = gy[o * v.inner + i] / (mean ? static_cast<T>(v.n) : T(1));
  return gx;
}

/// For each output position, the index along the axis of the first maximal element.
template <class T>
std::vector<std::int64_t> argmax_axis(const Array<T>& x, int axis) {
  const auto v = axis_view(x.shape, axis, true);
  std::vector<std::int64_t> arg(static_cast<std::size_t>(v.outer * v.inner), 0);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i) {
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < v.n; ++k)
        if (x[(o * v.n + k) * v.inner + i] > x[(o * v.n + best) * v.inner + i]) best = k;
      arg[static_cast<std::size_t>(o * v.inner + i)] = best;
    }
  return arg;
}

template <class T>
Array<T> max_axis(const Array<T>& x, int axis, bool keepdim) {
  const auto v = axis_view(x.shape, axis, keepdim);
  const auto arg = argmax_axis(x, axis);
  Array<T> y(v.out);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i)
      y[o * v.inner + i] = x[(o * v.n + arg[static_cast<std::size_t>(o * v.inner + i)]) * v.inner + i];
  return y;
}

template <class T>
Array<T> max_axis_grad(const Array<T>& x, int axis, bool keepdim, const Array<T>& gy) {
  const auto v = axis_view(x.shape, axis, keepdim);
  const auto arg = argmax_axis(x, axis);
  Array<T> gx(x.shape);
  for (std::int64_t o = 0; o < v.outer; ++o)
    for (std::int64_t i = 0; i < v.inner; ++i)
      gx[(o * v.n + arg[static_cast<std::size_t>(o * v.inner + i)]) * v.inner + i] = gy[o * v.inner + i];
  return gx;
}

/// Sum (or mean) of every element, shape [].
template <class T>
Array<T> sum_all(const Array<T>& x, bool mean) {
  T s = 0;
  for (auto e : x.v) s += e;
  return Array<T>(Shape{}, std::vector<T>{mean ? s / static_cast<T>(x.numel()) : s});
}

template <class T>
Array<T> sum_all_grad(const Array<T>& x, bool mean, const Array<T>& gy) {
  return Array<T>(x.shape, mean ? gy[0] / static_cast<T>(x.numel()) : gy[0]);
}

}  // namespace attnlab::ops::reference
