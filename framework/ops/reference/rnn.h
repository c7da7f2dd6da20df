// Reference LSTM and GRU layers: plain loops over time, batch and units, and a hand-written
// backpropagation through time. Same contract as framework/ops/rnn.h (PyTorch layout and gate
// order, batch first, zero initial state, directions concatenated on the last axis):
//   x [B, T, I], w_ih [D, G*H, I], w_hh [D, G*H, H], b_ih [D, G*H], b_hh [D, G*H] -> y [B, T, D*H]
// with G = 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n), D = 1 or 2 (taken from w_ih's first dim).
// Direction 1 runs from t = T-1 down to 0.
#pragma once

#include "framework/ops/reference/array.h"

#include <cmath>
#include <vector>

namespace attnlab::ops::reference {

enum class RnnCell { lstm, gru };

namespace rnn_detail {

template <class T>
T sigm(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

struct Dims {
  std::int64_t B, T, I, H, D, G;
};

template <class T>
Dims dims_of(const Array<T>& x, const Array<T>& w_ih, const Array<T>& w_hh) {
  const std::int64_t H = w_hh.shape[2];
  return {x.shape[0], x.shape[1], x.shape[2], H, w_ih.shape[0], w_ih.shape[1] / H};
}

/// What backward needs of one direction, indexed by step s (time t = s, or T-1-s for direction 1).
template <class T>
struct Trace {
  std::vector<T> h;    // [T+1, B, H], h[0] = 0: the state before step s is h[s]
  std::vector<T> c;    // LSTM: [T+1, B, H] cell states, likewise
  std::vector<T> act;  // [T, B, G, H] gate activations (LSTM i, f, g, o; GRU r, z, n)
  std::vector<T> hn;   // GRU: [T, B, H] W_hn h + b_hn (inside the reset product)
};

template <class T>
Trace<T> run_direction(RnnCell cell, const Dims& d, std::int64_t dir, const Array<T>& x, const Array<T>& w_ih,
                       const Array<T>& w_hh, const Array<T>& b_ih, const Array<T>& b_hh) {
  const std::int64_t B = d.B, T_ = d.T, I = d.I, H = d.H, GH = d.G * d.H;
  Trace<T> tr;
  tr.h.assign(static_cast<std::size_t>((T_ + 1) * B * H), T(0));
  tr.c.assign(static_cast<std::size_t>((T_ + 1) * B * H), T(0));
  tr.act.assign(static_cast<std::size_t>(T_ * B * GH), T(0));
  tr.hn.assign(static_cast<std::size_t>(T_ * B * H), T(0));
  std::vector<T> ax(static_cast<std::size_t>(GH)), ah(static_cast<std::size_t>(GH));
  for (std::int64_t s = 0; s < T_; ++s) {
    const std::int64_t t = dir == 0 ? s : T_ - 1 - s;
    for (std::int64_t b = 0; b < B; ++b) {
      const T* hp = &tr.h[static_cast<std::size_t>((s * B + b) * H)];
      for (std::int64_t r = 0; r < GH; ++r) {
        T sx = b_ih[dir * GH + r], sh = b_hh[dir * GH + r];
        for (std::int64_t i = 0; i < I; ++i) sx += w_ih[(dir * GH + r) * I + i] * x[(b * T_ + t) * I + i];
        for (std::int64_t j = 0; j < H; ++j) sh += w_hh[(dir * GH + r) * H + j] * hp[j];
        ax[static_cast<std::size_t>(r)] = sx;
        ah[static_cast<std::size_t>(r)] = sh;
      }
      T* act = &tr.act[static_cast<std::size_t>((s * B + b) * GH)];
      T* hn = &tr.h[static_cast<std::size_t>(((s + 1) * B + b) * H)];
      for (std::int64_t j = 0; j < H; ++j) {
        auto a = [&](std::int64_t g) {
          return ax[static_cast<std::size_t>(g * H + j)] + ah[static_cast<std::size_t>(g * H + j)];
        };
        if (cell == RnnCell::lstm) {
          const T gi = sigm(a(0)), gf = sigm(a(1)), gg = std::tanh(a(2)), go = sigm(a(3));
          const T cp = tr.c[static_cast<std::size_t>((s * B + b) * H + j)];
          const T cn = gf * cp + gi * gg;
          tr.c[static_cast<std::size_t>(((s + 1) * B + b) * H + j)] = cn;
          hn[j] = go * std::tanh(cn);
          act[j] = gi;
          act[H + j] = gf;
          act[2 * H + j] = gg;
          act[3 * H + j] = go;
        } else {
          const T gr = sigm(a(0)), gz = sigm(a(1));
          const T hh_n = ah[static_cast<std::size_t>(2 * H + j)];
          const T gn = std::tanh(ax[static_cast<std::size_t>(2 * H + j)] + gr * hh_n);
          hn[j] = (T(1) - gz) * gn + gz * hp[j];
          act[j] = gr;
          act[H + j] = gz;
          act[2 * H + j] = gn;
          tr.hn[static_cast<std::size_t>((s * B + b) * H + j)] = hh_n;
        }
      }
    }
  }
  return tr;
}

}  // namespace rnn_detail

/// y [B, T, D*H].
template <class T>
Array<T> rnn_forward(RnnCell cell, const Array<T>& x, const Array<T>& w_ih, const Array<T>& w_hh, const Array<T>& b_ih,
                     const Array<T>& b_hh) {
  const auto d = rnn_detail::dims_of(x, w_ih, w_hh);
  Array<T> y(Shape{d.B, d.T, d.D * d.H});
  for (std::int64_t dir = 0; dir < d.D; ++dir) {
    const auto tr = rnn_detail::run_direction(cell, d, dir, x, w_ih, w_hh, b_ih, b_hh);
    for (std::int64_t s = 0; s < d.T; ++s) {
      const std::int64_t t = dir == 0 ? s : d.T - 1 - s;
      for (std::int64_t b = 0; b < d.B; ++b)
        for (std::int64_t j = 0; j < d.H; ++j)
          y[(b * d.T + t) * d.D * d.H + dir * d.H + j] = tr.h[static_cast<std::size_t>(((s + 1) * d.B + b) * d.H + j)];
    }
  }
  return y;
}

/// Gradients of sum(gy ⊙ y) for {x, w_ih, w_hh, b_ih, b_hh}, by backpropagation through time.
template <class T>
std::vector<Array<T>> rnn_backward(RnnCell cell, const Array<T>& x, const Array<T>& w_ih, const Array<T>& w_hh,
                                   const Array<T>& b_ih, const Array<T>& b_hh, const Array<T>& gy) {
  const auto d = rnn_detail::dims_of(x, w_ih, w_hh);
  const std::int64_t B = d.B, T_ = d.T, I = d.I, H = d.H, GH = d.G * d.H, DH = d.D * d.H;
  Array<T> gx(x.shape), gwi(w_ih.shape), gwh(w_hh.shape), gbi(b_ih.shape), gbh(b_hh.shape);
  for (std::int64_t dir = 0; dir < d.D; ++dir) {
    const auto tr = rnn_detail::run_direction(cell, d, dir, x, w_ih, w_hh, b_ih, b_hh);
    std::vector<T> dh_next(static_cast<std::size_t>(B * H), T(0)), dc_next(static_cast<std::size_t>(B * H), T(0));
    std::vector<T> da_x(static_cast<std::size_t>(GH)), da_h(static_cast<std::size_t>(GH));
    for (std::int64_t s = T_ - 1; s >= 0; --s) {
      const std::int64_t t = dir == 0 ? s : T_ - 1 - s;
      for (std::int64_t b = 0; b < B; ++b) {
        const T* hp = &tr.h[static_cast<std::size_t>((s * B + b) * H)];
        const T* act = &tr.act[static_cast<std::size_t>((s * B + b) * GH)];
        T* dhn = &dh_next[static_cast<std::size_t>(b * H)];
        T* dcn = &dc_next[static_cast<std::size_t>(b * H)];
        // da_x: gradient of the input-side pre-activation W_i? x + b_i?; da_h: of W_h? h + b_h?.
        for (std::int64_t j = 0; j < H; ++j) {
          const T dh = gy[(b * T_ + t) * DH + dir * H + j] + dhn[j];
          if (cell == RnnCell::lstm) {
            const T gi = act[j], gf = act[H + j], gg = act[2 * H + j], go = act[3 * H + j];
            const T cn = tr.c[static_cast<std::size_t>(((s + 1) * B + b) * H + j)];
            const T cp = tr.c[static_cast<std::size_t>((s * B + b) * H + j)];
            const T tc = std::tanh(cn);
            const T dc = dcn[j] + dh * go * (T(1) - tc * tc);
            const T ai = dc * gg * gi * (T(1) - gi);
            const T af = dc * cp * gf * (T(1) - gf);
            const T ag = dc * gi * (T(1) - gg * gg);
            const T ao = dh * tc * go * (T(1) - go);
            for (std::int64_t g = 0; g < 4; ++g) {
              const T v = g == 0 ? ai : g == 1 ? af : g == 2 ? ag : ao;
              da_x[static_cast<std::size_t>(g * H + j)] = v;
              da_h[static_cast<std::size_t>(g * H + j)] = v;
            }
            dcn[j] = dc * gf;
            dhn[j] = T(0);
          } else {
            const T gr = act[j], gz = act[H + j], gn = act[2 * H + j];
            const T hh_n = tr.hn[static_cast<std::size_t>((s * B + b) * H + j)];
            const T an = dh * (T(1) - gz) * (T(1) - gn * gn);
            const T ar = an * hh_n * gr * (T(1) - gr);
            const T az = dh * (hp[j] - gn) * gz * (T(1) - gz);
            da_x[static_cast<std::size_t>(j)] = ar;
            da_x[static_cast<std::size_t>(H + j)] = az;
            da_x[static_cast<std::size_t>(2 * H + j)] = an;
            da_h[static_cast<std::size_t>(j)] = ar;
            da_h[static_cast<std::size_t>(H + j)] = az;
            da_h[static_cast<std::size_t>(2 * H + j)] = an * gr;
            dhn[j] = dh * gz;  // the direct path h' = ... + z ⊙ h
          }
        }
        for (std::int64_t r = 0; r < GH; ++r) {
          const T ex = da_x[static_cast<std::size_t>(r)], eh = da_h[static_cast<std::size_t>(r)];
          gbi[dir * GH + r] += ex;
          gbh[dir * GH + r] += eh;
          for (std::int64_t i = 0; i < I; ++i) {
            gwi[(dir * GH + r) * I + i] += ex * x[(b * T_ + t) * I + i];
            gx[(b * T_ + t) * I + i] += ex * w_ih[(dir * GH + r) * I + i];
          }
          for (std::int64_t j = 0; j < H; ++j) {
            gwh[(dir * GH + r) * H + j] += eh * hp[j];
            dhn[j] += eh * w_hh[(dir * GH + r) * H + j];
          }
        }
      }
    }
  }
  return {gx, gwi, gwh, gbi, gbh};
}

}  // namespace attnlab::ops::reference
