// Reference matrix products: naive triple loops over explicit indices (tests only).
//
// matmul(a, b, ta, tb): a [..., M, K] ([..., K, M] if ta), b [..., K, N] ([..., N, K] if tb), with
// equal batch dims or a rank-2 b shared by every batch element -> [..., M, N].
// linear(x, w, b): x [..., in], w [out, in], b [out] or empty (no bias) -> [..., out], no activation
// (tests compose the activation from reference/eltwise.h).
#pragma once

#include "framework/ops/reference/array.h"

#include <utility>

namespace attnlab::ops::reference {

struct MatmulDims {
  std::int64_t batch, m, k, n;
  bool shared_b;  // b is one matrix used by every batch element
};

template <class T>
MatmulDims matmul_dims(const Array<T>& a, const Array<T>& b, bool ta, bool tb) {
  const Shape& as = a.shape;
  const Shape& bs = b.shape;
  return {as.prod(0, as.rank() - 2), ta ? as[-1] : as[-2], ta ? as[-2] : as[-1], tb ? bs[-2] : bs[-1],
          bs.rank() == 2 && as.rank() > 2};
}

/// Flat offset of element (i, j) of batch element p of an operand stored as [..., rows, cols]
/// matrices, read as its transpose when `t`.
inline std::int64_t at(const Shape& s, std::int64_t p, std::int64_t i, std::int64_t j, bool t) {
  const std::int64_t rows = s[-2], cols = s[-1];
  return t ? p * rows * cols + j * cols + i : p * rows * cols + i * cols + j;
}

template <class T>
Array<T> matmul(const Array<T>& a, const Array<T>& b, bool ta, bool tb) {
  const MatmulDims d = matmul_dims(a, b, ta, tb);
  std::vector<std::int64_t> out(a.shape.begin(), a.shape.end() - 2);
  out.push_back(d.m);
  out.push_back(d.n);
  Array<T> y{Shape(out)};
  for (std::int64_t p = 0; p < d.batch; ++p) {
    const std::int64_t pb = d.shared_b ? 0 : p;
    for (std::int64_t i = 0; i < d.m; ++i)
      for (std::int64_t j = 0; j < d.n; ++j) {
        T s = 0;
        for (std::int64_t l = 0; l < d.k; ++l) s += a[at(a.shape, p, i, l, ta)] * b[at(b.shape, pb, l, j, tb)];
        y[(p * d.m + i) * d.n + j] = s;
      }
  }
  return y;
}

/// {da, db}: da[i, l] = Σ_j gy[i, j] b[l, j], db[l, j] = Σ_i a[i, l] gy[i, j] (in op(·) terms),
/// written back through the same transposed indexing; a shared b sums over the batch.
template <class T>
std::pair<Array<T>, Array<T>> matmul_backward(const Array<T>& a, const Array<T>& b, bool ta, bool tb,
                                              const Array<T>& gy) {
  const MatmulDims d = matmul_dims(a, b, ta, tb);
  Array<T> da(a.shape), db(b.shape);
  for (std::int64_t p = 0; p < d.batch; ++p) {
    const std::int64_t pb = d.shared_b ? 0 : p;
    for (std::int64_t i = 0; i < d.m; ++i)
      for (std::int64_t j = 0; j < d.n; ++j) {
        const T g = gy[(p * d.m + i) * d.n + j];
        for (std::int64_t l = 0; l < d.k; ++l) {
          da[at(a.shape, p, i, l, ta)] += g * b[at(b.shape, pb, l, j, tb)];
          db[at(b.shape, pb, l, j, tb)] += g * a[at(a.shape, p, i, l, ta)];
        }
      }
  }
  return {std::move(da), std::move(db)};
}

template <class T>
Array<T> linear(const Array<T>& x, const Array<T>& w, const Array<T>& b) {
  const std::int64_t out = w.shape[0], in = w.shape[1], rows = x.numel() / in;
  std::vector<std::int64_t> dims(x.shape.begin(), x.shape.end() - 1);
  dims.push_back(out);
  Array<T> y{Shape(dims)};
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      T s = b.numel() > 0 ? b[o] : T(0);
      for (std::int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  return y;
}

/// {dx, dw, db} of linear given gy [..., out]; db is empty when b is.
template <class T>
std::vector<Array<T>> linear_backward(const Array<T>& x, const Array<T>& w, const Array<T>& b, const Array<T>& gy) {
  const std::int64_t out = w.shape[0], in = w.shape[1], rows = x.numel() / in;
  Array<T> dx(x.shape), dw(w.shape), db = b.numel() > 0 ? Array<T>(b.shape) : Array<T>();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      const T g = gy[r * out + o];
      if (b.numel() > 0) db[o] += g;
      for (std::int64_t i = 0; i < in; ++i) {
        dx[r * in + i] += g * w[o * in + i];
        dw[o * in + i] += g * x[r * in + i];
      }
    }
  return {std::move(dx), std::move(dw), std::move(db)};
}

}  // namespace attnlab::ops::reference
