// Reference elementwise activations: f(x) and df/dx, elementwise.
#pragma once

#include "framework/ops/reference/array.h"

#include <numbers>

namespace attnlab::ops::reference {

template <class T, class F>
Array<T> map(const Array<T>& x, F f) {
  Array<T> y(x.shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) y[i] = f(x[i]);
  return y;
}

/// gy * f'(x), elementwise.
template <class T, class D>
Array<T> map_grad(const Array<T>& x, const Array<T>& gy, D d) {
  Array<T> gx(x.shape);
  for (std::int64_t i = 0; i < x.numel(); ++i) gx[i] = gy[i] * d(x[i]);
  return gx;
}

template <class T>
T relu(T x) {
  return x > 0 ? x : T(0);
}
template <class T>
T relu_d(T x) {
  return x > 0 ? T(1) : T(0);
}
template <class T>
T gelu(T x) {
  return T(0.5) * x * (T(1) + std::erf(x / std::sqrt(T(2))));
}
template <class T>
T gelu_d(T x) {
  const T cdf = T(0.5) * (T(1) + std::erf(x / std::sqrt(T(2))));
  const T pdf = std::exp(-x * x / T(2)) / std::sqrt(T(2) * std::numbers::pi_v<T>);
  return cdf + x * pdf;
}
template <class T>
T tanh_f(T x) {
  return std::tanh(x);
}
template <class T>
T tanh_d(T x) {
  const T t = std::tanh(x);
  return T(1) - t * t;
}
template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
template <class T>
T sigmoid_d(T x) {
  const T s = sigmoid(x);
  return s * (T(1) - s);
}
template <class T>
T exp_f(T x) {
  return std::exp(x);
}
template <class T>
T log_f(T x) {
  return std::log(x);
}
template <class T>
T log_d(T x) {
  return T(1) / x;
}

}  // namespace attnlab::ops::reference
