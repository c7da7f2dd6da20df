// Reference layer normalization over the last axis; gamma/beta optional (nullptr: no scale/shift).
#pragma once

#include "framework/ops/reference/array.h"

#include <cmath>

namespace attnlab::ops::reference {

template <class T>
Array<T> layer_norm(const Array<T>& x, const Array<T>* gamma, const Array<T>* beta, T eps) {
  const std::int64_t c = x.shape[-1], rows = x.numel() / c;
  Array<T> y(x.shape);
  for (std::int64_t r = 0; r < rows; ++r) {
    T mean = 0, var = 0;
    for (std::int64_t j = 0; j < c; ++j) mean += x[r * c + j];
    mean /= static_cast<T>(c);
    for (std::int64_t j = 0; j < c; ++j) var += (x[r * c + j] - mean) * (x[r * c + j] - mean);
    var /= static_cast<T>(c);
    const T rstd = T(1) / std::sqrt(var + eps);
    for (std::int64_t j = 0; j < c; ++j) {
      T v = (x[r * c + j] - mean) * rstd;
      if (gamma) v *= (*gamma)[j];
      if (beta) v += (*beta)[j];
      y[r * c + j] = v;
    }
  }
  return y;
}

template <class T>
struct LayerNormGrads {
  Array<T> x, gamma, beta;  // gamma/beta: [C], filled even when the op had none
};

/// With xhat = (x - mean) * rstd and d = gy * gamma:
///   gx = rstd * (d - mean_C(d) - xhat * mean_C(d * xhat)),  dgamma = sum_rows gy * xhat,  dbeta = sum_rows gy.
template <class T>
LayerNormGrads<T> layer_norm_backward(const Array<T>& x, const Array<T>* gamma, T eps, const Array<T>& gy) {
  const std::int64_t c = x.shape[-1], rows = x.numel() / c;
  LayerNormGrads<T> g{Array<T>(x.shape), Array<T>(Shape{c}), Array<T>(Shape{c})};
  std::vector<T> xhat(static_cast<std::size_t>(c)), d(static_cast<std::size_t>(c));
  for (std::int64_t r = 0; r < rows; ++r) {
    T mean = 0, var = 0;
    for (std::int64_t j = 0; j < c; ++j) mean += x[r * c + j];
    mean /= static_cast<T>(c);
    for (std::int64_t j = 0; j < c; ++j) var += (x[r * c + j] - mean) * (x[r * c + j] - mean);
    var /= static_cast<T>(c);
    const T rstd = T(1) / std::sqrt(var + eps);
    T md = 0, mdx = 0;
    for (std::int64_t j = 0; j < c; ++j) {
      const auto u = static_cast<std::size_t>(j);
      xhat[u] = (x[r * c + j] - mean) * rstd;
      d[u] = gy[r * c + j] * (gamma ? (*gamma)[j] : T(1));
      md += d[u];
      mdx += d[u] * xhat[u];
      g.gamma[j] += gy[r * c + j] * xhat[u];
      g.beta[j] += gy[r * c + j];
    }
    md /= static_cast<T>(c);
    mdx /= static_cast<T>(c);
    for (std::int64_t j = 0; j < c; ++j) {
      const auto u = static_cast<std::size_t>(j);
      g.x[r * c + j] = rstd * (d[u] - md - xhat[u] * mdx);
    }
  }
  return g;
}

}  // namespace attnlab::ops::reference
