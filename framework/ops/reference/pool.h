// Reference max/average pooling (PyTorch, ceil_mode = False), naive loops. A 1-D pool is the 2-D
// one on [N, C, 1, W] with a window of height 1.
#pragma once

#include "framework/ops/reference/array.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace attnlab::ops::reference {

/// Kernel, stride and symmetric padding per axis (height, width).
struct PoolGeom {
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
};

/// Visits every window of x [N, C, H, W]: f(flat output index, flat input indices inside the input).
/// The number of in-bounds positions can be smaller than the window size (padding).
template <class F>
Shape for_each_window(const Shape& xs, const PoolGeom& g, F f) {
  const std::int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const std::int64_t HO = (H + 2 * g.ph - g.kh) / g.sh + 1, WO = (W + 2 * g.pw - g.kw) / g.sw + 1;
  std::vector<std::int64_t> in;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < HO; ++i)
        for (std::int64_t j = 0; j < WO; ++j) {
          in.clear();
          for (std::int64_t p = 0; p < g.kh; ++p)
            for (std::int64_t q = 0; q < g.kw; ++q) {
              const std::int64_t r = i * g.sh - g.ph + p, t = j * g.sw - g.pw + q;
              if (r >= 0 && r < H && t >= 0 && t < W) in.push_back(((n * C + c) * H + r) * W + t);
            }
          f(((n * C + c) * HO + i) * WO + j, in);
        }
  return Shape{N, C, HO, WO};
}

/// The first maximum among x[in] (padding is -inf and never wins).
template <class T>
std::int64_t argmax_of(const Array<T>& x, const std::vector<std::int64_t>& in) {
  std::int64_t best = in.front();
  for (auto k : in)
    if (x[k] > x[best]) best = k;
  return best;
}

template <class T>
Array<T> max_pool2d(const Array<T>& x, const PoolGeom& g) {
  std::vector<std::pair<std::int64_t, T>> out;
  const Shape ys = for_each_window(x.shape, g, [&](std::int64_t o, const std::vector<std::int64_t>& in) {
    out.emplace_back(o, x[argmax_of(x, in)]);
  });
  Array<T> y(ys);
  for (auto& [o, v] : out) y[o] = v;
  return y;
}

template <class T>
Array<T> max_pool2d_backward(const Array<T>& x, const PoolGeom& g, const Array<T>& gy) {
  Array<T> gx(x.shape);
  for_each_window(x.shape, g,
                  [&](std::int64_t o, const std::vector<std::int64_t>& in) { gx[argmax_of(x, in)] += gy[o]; });
  return gx;
}

/// Padding counts as zeros: every window is divided by kh * kw (count_include_pad = True).
template <class T>
Array<T> avg_pool2d(const Array<T>& x, const PoolGeom& g) {
  std::vector<std::pair<std::int64_t, T>> out;
  const Shape ys = for_each_window(x.shape, g, [&](std::int64_t o, const std::vector<std::int64_t>& in) {
    T s = 0;
    for (auto k : in) s += x[k];
    out.emplace_back(o, s / T(g.kh * g.kw));
  });
  Array<T> y(ys);
  for (auto& [o, v] : out) y[o] = v;
  return y;
}

template <class T>
Array<T> avg_pool2d_backward(const Array<T>& x, const PoolGeom& g, const Array<T>& gy) {
  Array<T> gx(x.shape);
  for_each_window(x.shape, g, [&](std::int64_t o, const std::vector<std::int64_t>& in) {
    for (auto k : in) gx[k] += gy[o] / T(g.kh * g.kw);
  });
  return gx;
}

/// 1-D pools: x [N, C, W] seen as [N, C, 1, W]; kernel, stride (already defaulted) and padding.
inline PoolGeom pool1d_geom(int kernel, int stride, int padding) {
  PoolGeom g;
  g.kw = kernel;
  g.sw = stride;
  g.pw = padding;
  return g;
}
template <class T>
Array<T> unit_height(const Array<T>& a) {
  return Array<T>(Shape{a.shape[0], a.shape[1], 1, a.shape[2]}, a.v);
}
template <class T>
Array<T> no_height(const Array<T>& a) {
  return Array<T>(Shape{a.shape[0], a.shape[1], a.shape[3]}, a.v);
}

/// Global pools: x [N, C, ...] -> [N, C] over every spatial position.
template <class T>
Array<T> global_max_pool(const Array<T>& x) {
  const std::int64_t NC = x.shape[0] * x.shape[1], S = x.numel() / NC;
  Array<T> y(Shape{x.shape[0], x.shape[1]});
  for (std::int64_t r = 0; r < NC; ++r) {
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t s = 0; s < S; ++s) m = std::max(m, x[r * S + s]);
    y[r] = m;
  }
  return y;
}

template <class T>
Array<T> global_max_pool_backward(const Array<T>& x, const Array<T>& gy) {
  const std::int64_t NC = x.shape[0] * x.shape[1], S = x.numel() / NC;
  Array<T> gx(x.shape);
  for (std::int64_t r = 0; r < NC; ++r) {
    std::int64_t best = r * S;
    for (std::int64_t s = 0; s < S; ++s)
      if (x[r * S + s] > x[best]) best = r * S + s;
    gx[best] += gy[r];
  }
  return gx;
}

template <class T>
Array<T> global_avg_pool(const Array<T>& x) {
  const std::int64_t NC = x.shape[0] * x.shape[1], S = x.numel() / NC;
  Array<T> y(Shape{x.shape[0], x.shape[1]});
  for (std::int64_t r = 0; r < NC; ++r) {
    T s = 0;
    for (std::int64_t k = 0; k < S; ++k) s += x[r * S + k];
    y[r] = s / T(S);
  }
  return y;
}

template <class T>
Array<T> global_avg_pool_backward(const Array<T>& x, const Array<T>& gy) {
  const std::int64_t NC = x.shape[0] * x.shape[1], S = x.numel() / NC;
  Array<T> gx(x.shape);
  for (std::int64_t r = 0; r < NC; ++r)
    for (std::int64_t k = 0; k < S; ++k) gx[r * S + k] = gy[r] / T(S);
  return gx;
}

}  // namespace attnlab::ops::reference
