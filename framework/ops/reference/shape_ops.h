// Reference shape ops: naive element-by-element loops over multi-indices (tests only). Axes and
// bounds are already normalised (non-negative) here; the error handling lives in the real ops.
#pragma once

#include "framework/ops/reference/array.h"

#include <cstddef>
#include <vector>

namespace attnlab::ops::reference {

/// Same values, new shape (reshape, flatten, squeeze, unsqueeze); its backward is the same move.
template <class T>
Array<T> reshape(const Array<T>& x, const Shape& shape) {
  return Array<T>(shape, x.v);
}

/// y[i_0, ..., i_{r-1}] = x[j] with j[perm[k]] = i_k.
template <class T>
Array<T> permute(const Array<T>& x, const std::vector<int>& perm) {
  std::vector<std::int64_t> d;
  for (int p : perm) d.push_back(x.shape[p]);
  Array<T> y{Shape(d)};
  for (std::int64_t n = 0; n < y.numel(); ++n) {
    const auto i = unravel(y.shape, n);
    std::vector<std::int64_t> j(perm.size());
    for (std::size_t k = 0; k < perm.size(); ++k) j[static_cast<std::size_t>(perm[k])] = i[k];
    y[n] = x[offset(x.shape, j)];
  }
  return y;
}

/// The gradient of permute: the output gradient permuted back.
template <class T>
Array<T> permute_backward(const Array<T>& gy, const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (std::size_t k = 0; k < perm.size(); ++k) inv[static_cast<std::size_t>(perm[k])] = static_cast<int>(k);
  return permute(gy, inv);
}

/// Elements [start, end) along axis.
template <class T>
Array<T> slice(const Array<T>& x, int axis, std::int64_t start, std::int64_t end) {
  Shape s = x.shape;
  s[axis] = end - start;
  Array<T> y(s);
  for (std::int64_t n = 0; n < y.numel(); ++n) {
    auto i = unravel(s, n);
    i[static_cast<std::size_t>(axis)] += start;
    y[n] = x[offset(x.shape, i)];
  }
  return y;
}

/// Zeros of x_shape with gy added at [start, ...) along axis.
template <class T>
Array<T> slice_backward(const Shape& x_shape, const Array<T>& gy, int axis, std::int64_t start) {
  Array<T> gx(x_shape);
  for (std::int64_t n = 0; n < gy.numel(); ++n) {
    auto i = unravel(gy.shape, n);
    i[static_cast<std::size_t>(axis)] += start;
    gx[offset(x_shape, i)] += gy[n];
  }
  return gx;
}

/// Inputs joined along an existing axis.
template <class T>
Array<T> concat(const std::vector<Array<T>>& xs, int axis) {
  Shape s = xs.front().shape;
  s[axis] = 0;
  for (const auto& x : xs) s[axis] += x.shape[axis];
  Array<T> y(s);
  std::int64_t at = 0;
  for (const auto& x : xs) {
    for (std::int64_t n = 0; n < x.numel(); ++n) {
      auto i = unravel(x.shape, n);
      i[static_cast<std::size_t>(axis)] += at;
      y[offset(s, i)] = x[n];
    }
    at += x.shape[axis];
  }
  return y;
}

/// The gradient of concat for each input: its slice of gy.
template <class T>
std::vector<Array<T>> concat_backward(const std::vector<Array<T>>& xs, const Array<T>& gy, int axis) {
  std::vector<Array<T>> g;
  std::int64_t at = 0;
  for (const auto& x : xs) {
    g.push_back(slice(gy, axis, at, at + x.shape[axis]));
    at += x.shape[axis];
  }
  return g;
}

/// Equal-shaped inputs joined along a new axis: y[..., k, ...] = xs[k][...].
template <class T>
Array<T> stack(const std::vector<Array<T>>& xs, int axis) {
  std::vector<std::int64_t> d = xs.front().shape.dims();
  d.insert(d.begin() + axis, static_cast<std::int64_t>(xs.size()));
  Array<T> y{Shape(d)};
  for (std::int64_t n = 0; n < y.numel(); ++n) {
    auto i = unravel(y.shape, n);
    const std::int64_t k = i[static_cast<std::size_t>(axis)];
    i.erase(i.begin() + axis);
    y[n] = xs[static_cast<std::size_t>(k)][offset(xs.front().shape, i)];
  }
  return y;
}

template <class T>
std::vector<Array<T>> stack_backward(const std::vector<Array<T>>& xs, const Array<T>& gy, int axis) {
  std::vector<Array<T>> g;
  for (const auto& x : xs) g.emplace_back(x.shape);
  for (std::int64_t n = 0; n < gy.numel(); ++n) {
    auto i = unravel(gy.shape, n);
    const std::int64_t k = i[static_cast<std::size_t>(axis)];
    i.erase(i.begin() + axis);
    g[static_cast<std::size_t>(k)][offset(xs.front().shape, i)] += gy[n];
  }
  return g;
}

/// x [B, T, ...], index [B] (integers stored as T) -> [B, ...], y[b, ...] = x[b, index[b], ...].
template <class T>
Array<T> select_steps(const Array<T>& x, const Array<T>& index) {
  std::vector<std::int64_t> d = x.shape.dims();
  d.erase(d.begin() + 1);
  Array<T> y{Shape(d)};
  for (std::int64_t n = 0; n < y.numel(); ++n) {
    auto i = unravel(y.shape, n);
    i.insert(i.begin() + 1, static_cast<std::int64_t>(index[i[0]]));
    y[n] = x[offset(x.shape, i)];
  }
  return y;
}

template <class T>
Array<T> select_steps_backward(const Array<T>& x, const Array<T>& index, const Array<T>& gy) {
  Array<T> gx(x.shape);
  for (std::int64_t n = 0; n < gy.numel(); ++n) {
    auto i = unravel(gy.shape, n);
    i.insert(i.begin() + 1, static_cast<std::int64_t>(index[i[0]]));
    gx[offset(x.shape, i)] += gy[n];
  }
  return gx;
}

}  // namespace attnlab::ops::reference
