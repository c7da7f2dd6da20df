// Reference convolutions (PyTorch's cross-correlation), naive loops. A 1-D convolution is the 2-D
// one on [N, C, 1, W] with a [O, C, 1, K] kernel.
#pragma once

#include "framework/ops/reference/array.h"

namespace attnlab::ops::reference {

/// Options per axis (height, width) in PyTorch's conventions: dilation 1 means none.
struct ConvGeom {
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int dil_h = 1, dil_w = 1;
};

inline std::int64_t conv_out(std::int64_t in, std::int64_t k, int stride, int pad_lo, int pad_hi, int dil) {
  return (in + pad_lo + pad_hi - dil * (k - 1) - 1) / stride + 1;
}

/// x [N, C, H, W], w [O, C, KH, KW], b [O] or empty (no bias) -> [N, O, HO, WO].
template <class T>
Array<T> conv2d(const Array<T>& x, const Array<T>& w, const Array<T>& b, const ConvGeom& g) {
  const std::int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const std::int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const std::int64_t HO = conv_out(H, KH, g.stride_h, g.pad_top, g.pad_bottom, g.dil_h);
  const std::int64_t WO = conv_out(W, KW, g.stride_w, g.pad_left, g.pad_right, g.dil_w);
  Array<T> y(Shape{N, O, HO, WO});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < HO; ++i)
        for (std::int64_t j = 0; j < WO; ++j) {
          T s = b.empty() ? T(0) : b[o];
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t p = 0; p < KH; ++p)
              for (std::int64_t q = 0; q < KW; ++q) {
                const std::int64_t r = i * g.stride_h - g.pad_top + p * g.dil_h;
                const std::int64_t t = j * g.stride_w - g.pad_left + q * g.dil_w;
                if (r < 0 || r >= H || t < 0 || t >= W) continue;
                s += w[((o * C + c) * KH + p) * KW + q] * x[((n * C + c) * H + r) * W + t];
              }
          y[((n * O + o) * HO + i) * WO + j] = s;
        }
  return y;
}

template <class T>
struct ConvGrads {
  Array<T> x, w, b;  // b is empty when the convolution has no bias
};

/// Gradients of conv2d given gy [N, O, HO, WO].
template <class T>
ConvGrads<T> conv2d_backward(const Array<T>& x, const Array<T>& w, bool bias, const ConvGeom& g, const Array<T>& gy) {
  const std::int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const std::int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const std::int64_t HO = gy.shape[2], WO = gy.shape[3];
  ConvGrads<T> d{Array<T>(x.shape), Array<T>(w.shape), bias ? Array<T>(Shape{O}) : Array<T>()};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < HO; ++i)
        for (std::int64_t j = 0; j < WO; ++j) {
          const T e = gy[((n * O + o) * HO + i) * WO + j];
          if (bias) d.b[o] += e;
          for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t p = 0; p < KH; ++p)
              for (std::int64_t q = 0; q < KW; ++q) {
                const std::int64_t r = i * g.stride_h - g.pad_top + p * g.dil_h;
                const std::int64_t t = j * g.stride_w - g.pad_left + q * g.dil_w;
                if (r < 0 || r >= H || t < 0 || t >= W) continue;
                const std::int64_t xi = ((n * C + c) * H + r) * W + t, wi = ((o * C + c) * KH + p) * KW + q;
                d.x[xi] += e * w[wi];
                d.w[wi] += e * x[xi];
              }
        }
  return d;
}

/// 1-D options in PyTorch's conventions.
struct Conv1dGeom {
  int stride = 1, pad_left = 0, pad_right = 0, dilation = 1;
};

inline ConvGeom as_2d(const Conv1dGeom& g) {
  ConvGeom r;
  r.stride_w = g.stride;
  r.pad_left = g.pad_left;
  r.pad_right = g.pad_right;
  r.dil_w = g.dilation;
  return r;
}

/// [N, C, L] -> [N, C, 1, L] (same values).
template <class T>
Array<T> add_unit_height(const Array<T>& a) {
  return Array<T>(Shape{a.shape[0], a.shape[1], 1, a.shape[2]}, a.v);
}
template <class T>
Array<T> drop_unit_height(const Array<T>& a) {
  return Array<T>(Shape{a.shape[0], a.shape[1], a.shape[3]}, a.v);
}

/// x [N, C, W], w [O, C, K], b [O] or empty -> [N, O, WO].
template <class T>
Array<T> conv1d(const Array<T>& x, const Array<T>& w, const Array<T>& b, const Conv1dGeom& g) {
  return drop_unit_height(conv2d(add_unit_height(x), add_unit_height(w), b, as_2d(g)));
}

template <class T>
ConvGrads<T> conv1d_backward(const Array<T>& x, const Array<T>& w, bool bias, const Conv1dGeom& g, const Array<T>& gy) {
  ConvGrads<T> d = conv2d_backward(add_unit_height(x), add_unit_height(w), bias, as_2d(g), add_unit_height(gy));
  return {drop_unit_height(d.x), drop_unit_height(d.w), d.b};
}

}  // namespace attnlab::ops::reference
