// Reference broadcasting binary ops: naive loops over multi-indices (tests only).
//
// Broadcasting maps each output multi-index to an input one by aligning trailing dims and taking
// index 0 along the input's size-1 (or missing) dims. The gradient of an input sums the output
// gradient over every output element that read it.
#pragma once

#include "framework/ops/reference/array.h"

#include <algorithm>
#include <stdexcept>

namespace attnlab::ops::reference {

inline Shape broadcast_shape(const Shape& a, const Shape& b) {
  const int r = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> out(static_cast<std::size_t>(r));
  for (int i = 1; i <= r; ++i) {
    const std::int64_t da = i <= a.rank() ? a[-i] : 1;
    const std::int64_t db = i <= b.rank() ? b[-i] : 1;
    if (da != db && da != 1 && db != 1) throw std::invalid_argument("reference: shapes do not broadcast");
    out[static_cast<std::size_t>(r - i)] = da == 1 ? db : da;
  }
  return Shape(std::move(out));
}

/// Flat offset in an input of shape `in` read by output multi-index `idx` (of shape `out`).
inline std::int64_t broadcast_offset(const Shape& in, const Shape& out, const std::vector<std::int64_t>& idx) {
  std::int64_t o = 0;
  const int lead = out.rank() - in.rank();
  for (int d = 0; d < in.rank(); ++d) o = o * in[d] + (in[d] == 1 ? 0 : idx[static_cast<std::size_t>(d + lead)]);
  return o;
}

/// y[i] = f(a[..], b[..]) over the broadcast shape.
template <class T, class F>
Array<T> broadcast_apply(const Array<T>& a, const Array<T>& b, F f) {
  Array<T> y(broadcast_shape(a.shape, b.shape));
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    const auto idx = unravel(y.shape, i);
    y[i] = f(a[broadcast_offset(a.shape, y.shape, idx)], b[broadcast_offset(b.shape, y.shape, idx)]);
  }
  return y;
}

/// a repeated to shape `out`.
template <class T>
Array<T> expand(const Array<T>& a, const Shape& out) {
  Array<T> y(out);
  for (std::int64_t i = 0; i < y.numel(); ++i) y[i] = a[broadcast_offset(a.shape, out, unravel(out, i))];
  return y;
}

/// g (of the broadcast shape) summed back onto an input of shape `in`.
template <class T>
Array<T> sum_to(const Array<T>& g, const Shape& in) {
  Array<T> s(in);
  for (std::int64_t i = 0; i < g.numel(); ++i) s[broadcast_offset(in, g.shape, unravel(g.shape, i))] += g[i];
  return s;
}

template <class T>
Array<T> scaled(Array<T> a, T k) {
  for (auto& v : a.v) v *= k;
  return a;
}

/// Gradients of a op b for a and b given gy, from the partial derivatives da(a, b) and db(a, b).
template <class T, class DA, class DB>
std::vector<Array<T>> binary_grads(const Array<T>& a, const Array<T>& b, const Array<T>& gy, DA da, DB db) {
  const Array<T> ea = expand(a, gy.shape), eb = expand(b, gy.shape);
  Array<T> ga(gy.shape), gb(gy.shape);
  for (std::int64_t i = 0; i < gy.numel(); ++i) {
    ga[i] = gy[i] * da(ea[i], eb[i]);
    gb[i] = gy[i] * db(ea[i], eb[i]);
  }
  return {sum_to(ga, a.shape), sum_to(gb, b.shape)};
}

}  // namespace attnlab::ops::reference
