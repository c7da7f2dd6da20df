// Reference losses, each returning a scalar Array (shape []), and the gradient of its first input.
// Integer targets arrive as exactly-representable T values.
#pragma once

#include "framework/ops/reference/array.h"

#include <algorithm>
#include <cmath>

namespace attnlab::ops::reference {

/// Mean over non-ignored rows of -sum_c q_c log_softmax(x)_c, q = (1 - s) onehot(t) + s / C; 0 if none.
template <class T>
Array<T> cross_entropy(const Array<T>& x, const Array<T>& target, std::int64_t ignore_index, T smoothing) {
  const std::int64_t c = x.shape[-1], rows = target.numel();
  T total = 0;
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto t = static_cast<std::int64_t>(target[r]);
    if (t == ignore_index) continue;
    ++count;
    T m = x[r * c];
    for (std::int64_t j = 1; j < c; ++j) m = std::max(m, x[r * c + j]);
    T s = 0;
    for (std::int64_t j = 0; j < c; ++j) s += std::exp(x[r * c + j] - m);
    const T lse = m + std::log(s);
    for (std::int64_t j = 0; j < c; ++j) {
      const T q = (j == t ? T(1) - smoothing : T(0)) + smoothing / static_cast<T>(c);
      total -= q * (x[r * c + j] - lse);
    }
  }
  return Array<T>(Shape{}, std::vector<T>{count > 0 ? total / static_cast<T>(count) : T(0)});
}

/// gx = gy * (softmax(x) - q) / count on non-ignored rows, 0 on ignored rows.
template <class T>
Array<T> cross_entropy_backward(const Array<T>& x, const Array<T>& target, std::int64_t ignore_index, T smoothing,
                                const Array<T>& gy) {
  const std::int64_t c = x.shape[-1], rows = target.numel();
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < rows; ++r) count += static_cast<std::int64_t>(target[r]) != ignore_index;
  Array<T> gx(x.shape);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto t = static_cast<std::int64_t>(target[r]);
    if (t == ignore_index) continue;
    T m = x[r * c];
    for (std::int64_t j = 1; j < c; ++j) m = std::max(m, x[r * c + j]);
    T s = 0;
    for (std::int64_t j = 0; j < c; ++j) s += std::exp(x[r * c + j] - m);
    for (std::int64_t j = 0; j < c; ++j) {
      const T q = (j == t ? T(1) - smoothing : T(0)) + smoothing / static_cast<T>(c);
      gx[r * c + j] = gy[0] * (std::exp(x[r * c + j] - m) / s - q) / static_cast<T>(count);
    }
  }
  return gx;
}

/// sum_i w_i f(x_i, t_i) / sum_i w_i (w = 1 when weight is null); 0 when the weights sum to 0.
template <class T, class F>
Array<T> weighted_mean(const Array<T>& x, const Array<T>& t, const Array<T>* w, F f) {
  T s = 0, ws = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const T wi = w ? (*w)[i] : T(1);
    s += wi * f(x[i], t[i]);
    ws += wi;
  }
  return Array<T>(Shape{}, std::vector<T>{ws != T(0) ? s / ws : T(0)});
}

/// gx_i = gy * w_i * d(x_i, t_i) / sum_i w_i.
template <class T, class D>
Array<T> weighted_mean_backward(const Array<T>& x, const Array<T>& t, const Array<T>* w, const Array<T>& gy, D d) {
  T ws = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) ws += w ? (*w)[i] : T(1);
  Array<T> gx(x.shape);
  if (ws == T(0)) return gx;
  for (std::int64_t i = 0; i < x.numel(); ++i) gx[i] = gy[0] * (w ? (*w)[i] : T(1)) * d(x[i], t[i]) / ws;
  return gx;
}

/// Binary cross-entropy of sigmoid(x) against t, written naively (fine for moderate |x|).
template <class T>
T bce_term(T x, T t) {
  const T p = T(1) / (T(1) + std::exp(-x));
  return -(t * std::log(p) + (T(1) - t) * std::log(T(1) - p));
}
template <class T>
T bce_term_d(T x, T t) {
  return T(1) / (T(1) + std::exp(-x)) - t;
}

template <class T>
T squared_error(T x, T t) {
  return (x - t) * (x - t);
}
template <class T>
T squared_error_d(T x, T t) {
  return T(2) * (x - t);
}

template <class T>
T absolute_error(T x, T t) {
  return x > t ? x - t : t - x;
}
template <class T>
T absolute_error_d(T x, T t) {
  return x > t ? T(1) : (x < t ? T(-1) : T(0));
}

/// Huber with threshold delta (PyTorch's huber_loss): 0.5 d^2 for |d| <= delta, else delta (|d| - 0.5 delta).
template <class T>
T huber(T x, T t, T delta) {
  const T d = x - t, a = d < 0 ? -d : d;
  return a <= delta ? T(0.5) * d * d : delta * (a - T(0.5) * delta);
}
template <class T>
T huber_d(T x, T t, T delta) {
  const T d = x - t;
  return d > delta ? delta : (d < -delta ? -delta : d);
}

}  // namespace attnlab::ops::reference
