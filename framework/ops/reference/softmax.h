// Reference softmax and log_softmax along one axis, and their backward from the input.
#pragma once

#include "framework/ops/reference/array.h"

#include <algorithm>
#include <cmath>

namespace attnlab::ops::reference {

/// Calls f(base, stride, n) once per line along `axis` (axis already non-negative).
template <class F>
void for_each_line(const Shape& s, int axis, F f) {
  const std::int64_t n = s[axis], inner = s.prod(axis + 1, s.rank()), outer = s.prod(0, axis);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) f(o * n * inner + i, inner, n);
}

template <class T>
Array<T> softmax(const Array<T>& x, int axis) {
  Array<T> y(x.shape);
  for_each_line(x.shape, axis, [&](std::int64_t b, std::int64_t st, std::int64_t n) {
    T m = x[b];
    for (std::int64_t k = 1; k < n; ++k) m = std::max(m, x[b + k * st]);
    T s = 0;
    for (std::int64_t k = 0; k < n; ++k) s += std::exp(x[b + k * st] - m);
    for (std::int64_t k = 0; k < n; ++k) y[b + k * st] = std::exp(x[b + k * st] - m) / s;
  });
  return y;
}

/// gx = y * (gy - sum_axis(gy * y)), y = softmax(x).
template <class T>
Array<T> softmax_backward(const Array<T>& x, const Array<T>& gy, int axis) {
  const Array<T> y = softmax(x, axis);
  Array<T> gx(x.shape);
  for_each_line(x.shape, axis, [&](std::int64_t b, std::int64_t st, std::int64_t n) {
    T dot = 0;
    for (std::int64_t k = 0; k < n; ++k) dot += gy[b + k * st] * y[b + k * st];
    for (std::int64_t k = 0; k < n; ++k) gx[b + k * st] = y[b + k * st] * (gy[b + k * st] - dot);
  });
  return gx;
}

template <class T>
Array<T> log_softmax(const Array<T>& x, int axis) {
  Array<T> y(x.shape);
  for_each_line(x.shape, axis, [&](std::int64_t b, std::int64_t st, std::int64_t n) {
    T m = x[b];
    for (std::int64_t k = 1; k < n; ++k) m = std::max(m, x[b + k * st]);
    T s = 0;
    for (std::int64_t k = 0; k < n; ++k) s += std::exp(x[b + k * st] - m);
    const T lse = m + std::log(s);
    for (std::int64_t k = 0; k < n; ++k) y[b + k * st] = x[b + k * st] - lse;
  });
  return y;
}

/// gx = gy - softmax(x) * sum_axis(gy).
template <class T>
Array<T> log_softmax_backward(const Array<T>& x, const Array<T>& gy, int axis) {
  const Array<T> p = softmax(x, axis);
  Array<T> gx(x.shape);
  for_each_line(x.shape, axis, [&](std::int64_t b, std::int64_t st, std::int64_t n) {
    T sum = 0;
    for (std::int64_t k = 0; k < n; ++k) sum += gy[b + k * st];
    for (std::int64_t k = 0; k < n; ++k) gx[b + k * st] = gy[b + k * st] - p[b + k * st] * sum;
  });
  return gx;
}

}  // namespace attnlab::ops::reference
