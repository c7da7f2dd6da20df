#include "framework/ops/rnn.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <array>
#include <cstring>
#include <tuple>
#include <unordered_map>

namespace attnlab::ops {
namespace {

using dnnl::memory;
using onednn::dt;
using onednn::tag;

enum class Cell { lstm, gru };

struct RnnDims {
  std::int64_t B, T, I, H, D, G;  // G: gates in PyTorch's weights (4 LSTM, 3 GRU)
};

// oneDNN's gate g holds PyTorch's gate kPerm[g]. LSTM orders agree (i, f, g, o); oneDNN's GRU is
// (u, r, o) = PyTorch's (z, r, n).
constexpr std::array<int, 4> kLstmPerm{0, 1, 2, 3};
constexpr std::array<int, 4> kGruPerm{1, 0, 2, 3};

// A weight tensor between the user layout (ldgoi: PyTorch's [D, G*H, C], oneDNN gate order) and the
// layout the primitive chose. `scratch` holds the primitive's copy when the layouts differ, and
// always for gradients (oneDNN accumulates into them).
struct Staged {
  memory::desc user_md, prim_md;
  bool reorder_needed = false;
  dnnl::reorder reorder;  // user -> prim for an input, prim -> user for a gradient
  Tensor scratch;
  memory scratch_mem;
};

Staged stage_input(const memory::desc& user_md, const memory::desc& prim_md) {
  Staged s{user_md, prim_md, !(user_md == prim_md), {}, {}, {}};
  if (s.reorder_needed) {
    s.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(onednn::engine(), user_md, onednn::engine(), prim_md));
    std::tie(s.scratch, s.scratch_mem) = onednn::alloc(prim_md);
  }
  return s;
}

Staged stage_grad(const memory::desc& prim_md, const memory::desc& user_md) {
  Staged s{user_md, prim_md, !(user_md == prim_md), {}, {}, {}};
  if (s.reorder_needed)
    s.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(onednn::engine(), prim_md, onednn::engine(), user_md));
  std::tie(s.scratch, s.scratch_mem) = onednn::alloc(prim_md);
  return s;
}

memory feed(const Staged& s, const Tensor& user) {
  memory m = onednn::wrap(user, s.user_md);
  if (!s.reorder_needed) return m;
  onednn::execute(s.reorder, {{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, s.scratch_mem}});
  return s.scratch_mem;
}

void collect(const Staged& s, Tensor& user) {
  if (s.reorder_needed)
    onednn::execute(s.reorder, {{DNNL_ARG_FROM, s.scratch_mem}, {DNNL_ARG_TO, onednn::wrap(user, s.user_md)}});
  else
    std::memcpy(user.raw(), s.scratch.raw(), user.bytes());
}

struct RnnKernel {
  Cell cell;
  RnnDims d;
  bool training;
  memory::desc x_md, y_md, bias_md, ws_md;  // x, y: [T, B, C] logical dims in ntc (batch-first) layout
  dnnl::primitive fwd, bwd;
  Staged fwd_wl, fwd_wi, bwd_wl, bwd_wi;
  Staged diff_wl, diff_wi;
  Tensor diff_bias;                   // [1, D, 4, H]
  Tensor diff_wl_user, diff_wi_user;  // GRU: gradients in oneDNN gate order before the permutation
};

struct Pds {
  dnnl::primitive fwd, bwd;
  memory::desc fwd_wl, fwd_wi, ws, bwd_wl, bwd_wi, diff_wl, diff_wi;
};

template <class Fwd, class Bwd>
Pds collect_pds(const typename Fwd::primitive_desc& fpd, const typename Bwd::primitive_desc* bpd) {
  Pds p;
  p.fwd = Fwd(fpd);
  p.fwd_wl = fpd.weights_layer_desc();
  p.fwd_wi = fpd.weights_iter_desc();
  p.ws = fpd.workspace_desc();
  if (bpd) {
    p.bwd = Bwd(*bpd);
    p.bwd_wl = bpd->weights_layer_desc();
    p.bwd_wi = bpd->weights_iter_desc();
    p.diff_wl = bpd->diff_weights_layer_desc();
    p.diff_wi = bpd->diff_weights_iter_desc();
  }
  return p;
}

RnnKernel build(Cell cell, const RnnDims& d, bool training) {
  RnnKernel k{cell, d, training, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  const memory::desc none;
  k.x_md = memory::desc({d.T, d.B, d.I}, dt::f32, tag::ntc);
  k.y_md = memory::desc({d.T, d.B, d.D * d.H}, dt::f32, tag::ntc);
  k.bias_md = memory::desc({1, d.D, 4, d.H}, dt::f32, tag::ldgo);  // lbr_gru has an extra 4th bias gate
  const memory::desc wl_any({1, d.D, d.I, d.G, d.H}, dt::f32, tag::any);
  const memory::desc wi_any({1, d.D, d.H, d.G, d.H}, dt::f32, tag::any);
  const memory::desc wl_user({1, d.D, d.I, d.G, d.H}, dt::f32, tag::ldgoi);
  const memory::desc wi_user({1, d.D, d.H, d.G, d.H}, dt::f32, tag::ldgoi);
  const auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto dir =
      d.D == 2 ? dnnl::rnn_direction::bidirectional_concat : dnnl::rnn_direction::unidirectional_left2right;
  auto& eng = onednn::engine();

  Pds p;
  if (cell == Cell::lstm) {
    dnnl::lstm_forward::primitive_desc fpd(
        dnnl::lstm_forward::desc(prop, dir, k.x_md, none, none, wl_any, wi_any, k.bias_md, k.y_md, none, none), eng);
    if (training) {
      dnnl::lstm_backward::primitive_desc bpd(
          dnnl::lstm_backward::desc(dnnl::prop_kind::backward, dir, k.x_md, none, none, wl_any, wi_any, k.bias_md,
                                    k.y_md, none, none, k.x_md, none, none, wl_any, wi_any, k.bias_md, k.y_md, none,
                                    none),
          eng, fpd);
      p = collect_pds<dnnl::lstm_forward, dnnl::lstm_backward>(fpd, &bpd);
    } else {
      p = collect_pds<dnnl::lstm_forward, dnnl::lstm_backward>(fpd, nullptr);
    }
  } else {
    dnnl::lbr_gru_forward::primitive_desc fpd(
        dnnl::lbr_gru_forward::desc(prop, dir, k.x_md, none, wl_any, wi_any, k.bias_md, k.y_md, none), eng);
    if (training) {
      dnnl::lbr_gru_backward::primitive_desc bpd(
          dnnl::lbr_gru_backward::desc(dnnl::prop_kind::backward, dir, k.x_md, none, wl_any, wi_any, k.bias_md, k.y_md,
                                       none, k.x_md, none, wl_any, wi_any, k.bias_md, k.y_md, none),
          eng, fpd);
      p = collect_pds<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(fpd, &bpd);
    } else {
      p = collect_pds<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(fpd, nullptr);
    }
  }
  k.fwd = p.fwd;
  k.fwd_wl = stage_input(wl_user, p.fwd_wl);
  k.fwd_wi = stage_input(wi_user, p.fwd_wi);
  if (training) {
    k.ws_md = p.ws;
    k.bwd = p.bwd;
    k.bwd_wl = stage_input(wl_user, p.bwd_wl);
    k.bwd_wi = stage_input(wi_user, p.bwd_wi);
    k.diff_wl = stage_grad(p.diff_wl, wl_user);
    k.diff_wi = stage_grad(p.diff_wi, wi_user);
    k.diff_bias = Tensor::empty(Shape{1, d.D, 4, d.H});
    if (cell == Cell::gru) {
      k.diff_wl_user = Tensor::empty(Shape{d.D, d.G * d.H, d.I});
      k.diff_wi_user = Tensor::empty(Shape{d.D, d.G * d.H, d.H});
    }
  }
  return k;
}

// dst[dd, g] = src[dd, perm[g]] over blocks of `block` floats: [D, G, block] on both sides.
void permute_gates(const float* src, float* dst, std::int64_t D, std::int64_t G, std::int64_t block,
                   const std::array<int, 4>& perm) {
  for (std::int64_t dd = 0; dd < D; ++dd)
    for (std::int64_t g = 0; g < G; ++g)
      std::memcpy(dst + (dd * G + g) * block, src + (dd * G + perm[static_cast<std::size_t>(g)]) * block,
                  static_cast<std::size_t>(block) * sizeof(float));
}

// Inverse of permute_gates with the same perm.
void unpermute_gates(const float* src, float* dst, std::int64_t D, std::int64_t G, std::int64_t block,
                     const std::array<int, 4>& perm) {
  for (std::int64_t dd = 0; dd < D; ++dd)
    for (std::int64_t g = 0; g < G; ++g)
      std::memcpy(dst + (dd * G + perm[static_cast<std::size_t>(g)]) * block, src + (dd * G + g) * block,
                  static_cast<std::size_t>(block) * sizeof(float));
}

// Weights in oneDNN's gate order, in PyTorch's layout (ldgoi); LSTM shares the user's buffer.
Tensor to_dnnl_gates(Cell cell, const Tensor& w, const RnnDims& d) {
  if (cell == Cell::lstm) return w;
  Tensor out = Tensor::empty(w.shape());
  permute_gates(w.f32(), out.f32(), d.D, d.G, d.H * w.shape()[2], kGruPerm);
  return out;
}

// oneDNN bias [1, D, 4, H]. LSTM: b_ih + b_hh per gate. lbr_gru: (u, r, o, u') =
// (b_iz + b_hz, b_ir + b_hr, b_in, b_hn): n's hidden bias stays inside r ⊙ (W_hn h + b_hn).
Tensor make_bias(Cell cell, const Tensor& b_ih, const Tensor& b_hh, const RnnDims& d) {
  Tensor b = Tensor::empty(Shape{1, d.D, 4, d.H});
  const float* bi = b_ih.f32();
  const float* bh = b_hh.f32();
  float* out = b.f32();
  const std::int64_t H = d.H;
  for (std::int64_t dd = 0; dd < d.D; ++dd) {
    const float* i = bi + dd * d.G * H;
    const float* h = bh + dd * d.G * H;
    float* o = out + dd * 4 * H;
    if (cell == Cell::lstm) {
      for (std::int64_t j = 0; j < 4 * H; ++j) o[j] = i[j] + h[j];
    } else {
      for (std::int64_t j = 0; j < H; ++j) {
        o[j] = i[H + j] + h[H + j];
        o[H + j] = i[j] + h[j];
        o[2 * H + j] = i[2 * H + j];
        o[3 * H + j] = h[2 * H + j];
      }
    }
  }
  return b;
}

// Splits oneDNN's bias gradient [1, D, 4, H] into PyTorch's b_ih and b_hh gradients [D, G*H].
void split_bias_grad(Cell cell, const Tensor& db, Tensor& g_ih, Tensor& g_hh, const RnnDims& d) {
  const float* s = db.f32();
  float* gi = g_ih.f32();
  float* gh = g_hh.f32();
  const std::int64_t H = d.H;
  for (std::int64_t dd = 0; dd < d.D; ++dd) {
    const float* b = s + dd * 4 * H;
    float* i = gi + dd * d.G * H;
    float* h = gh + dd * d.G * H;
    if (cell == Cell::lstm) {
      std::memcpy(i, b, static_cast<std::size_t>(4 * H) * sizeof(float));
      std::memcpy(h, b, static_cast<std::size_t>(4 * H) * sizeof(float));
    } else {
      for (std::int64_t j = 0; j < H; ++j) {
        i[j] = h[j] = b[H + j];
        i[H + j] = h[H + j] = b[j];
        i[2 * H + j] = b[2 * H + j];
        h[2 * H + j] = b[3 * H + j];
      }
    }
  }
}

RnnDims check(const char* op, std::int64_t G, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih,
              const Var& b_hh, bool bidirectional) {
  require_f32(op, x, "x");
  require_f32(op, w_ih, "w_ih");
  require_f32(op, w_hh, "w_hh");
  require_f32(op, b_ih, "b_ih");
  require_f32(op, b_hh, "b_hh");
  const std::int64_t D = bidirectional ? 2 : 1;
  auto fail = [&](const std::string& why) {
    throw ShapeError(op,
                     fmt::format("{}; expected x [B, T, I], w_ih [D, {}H, I], w_hh [D, {}H, H], b_ih and b_hh "
                                 "[D, {}H] with D = {} ({}), got x {}, w_ih {}, w_hh {}, b_ih {}, b_hh {}",
                                 why, G, G, G, D, bidirectional ? "bidirectional" : "unidirectional", x.shape().str(),
                                 w_ih.shape().str(), w_hh.shape().str(), b_ih.shape().str(), b_hh.shape().str()));
  };
  if (x.rank() != 3) fail(fmt::format("x must have rank 3, not {}", x.rank()));
  if (w_hh.rank() != 3) fail(fmt::format("w_hh must have rank 3, not {}", w_hh.rank()));
  RnnDims d{x.shape()[0], x.shape()[1], x.shape()[2], w_hh.shape()[2], D, G};
  if (d.B < 1 || d.T < 1 || d.I < 1) fail("x must have B, T, I >= 1");
  if (d.H < 1) fail("the hidden size H (last dim of w_hh) must be >= 1");
  if (w_ih.rank() == 3 && w_ih.shape()[0] != D)
    fail(fmt::format("w_ih holds {} direction(s) but the layer needs {}", w_ih.shape()[0], D));
  if (w_ih.shape() != Shape{D, G * d.H, d.I}) fail(fmt::format("w_ih must be [{}, {}, {}]", D, G * d.H, d.I));
  if (w_hh.shape() != Shape{D, G * d.H, d.H}) fail(fmt::format("w_hh must be [{}, {}, {}]", D, G * d.H, d.H));
  if (b_ih.shape() != Shape{D, G * d.H}) fail(fmt::format("b_ih must be [{}, {}]", D, G * d.H));
  if (b_hh.shape() != Shape{D, G * d.H}) fail(fmt::format("b_hh must be [{}, {}]", D, G * d.H));
  return d;
}

Var rnn(const char* op, Cell cell, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh,
        bool bidirectional) {
  const RnnDims d = check(op, cell == Cell::lstm ? 4 : 3, x, w_ih, w_hh, b_ih, b_hh, bidirectional);
  bool training = false;
  if (autograd::grad_enabled())
    for (const Var* v : {&x, &w_ih, &w_hh, &b_ih, &b_hh}) training = training || v->requires_grad();

  const std::string context =
      fmt::format("x {}, w_ih {}, w_hh {}, b_ih {}, b_hh {}", x.shape().str(), w_ih.shape().str(), w_hh.shape().str(),
                  b_ih.shape().str(), b_hh.shape().str());
  auto k = onednn::cached<RnnKernel>(
      fmt::format("rnn:{}:{}:B{}:T{}:I{}:H{}:D{}", op, training ? "train" : "infer", d.B, d.T, d.I, d.H, d.D),
      [&] { return onednn::guard(op, context, [&] { return build(cell, d, training); }); });

  Tensor y = Tensor::empty(Shape{d.B, d.T, d.D * d.H});
  Tensor wl = to_dnnl_gates(cell, w_ih.value(), d);
  Tensor wi = to_dnnl_gates(cell, w_hh.value(), d);
  Tensor bias = make_bias(cell, b_ih.value(), b_hh.value(), d);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC_LAYER, onednn::wrap(x.value(), k->x_md)},
                                       {DNNL_ARG_WEIGHTS_LAYER, feed(k->fwd_wl, wl)},
                                       {DNNL_ARG_WEIGHTS_ITER, feed(k->fwd_wi, wi)},
                                       {DNNL_ARG_BIAS, onednn::wrap(bias, k->bias_md)},
                                       {DNNL_ARG_DST_LAYER, onednn::wrap(y, k->y_md)}};
  Tensor ws;
  if (training) {
    memory ws_mem;
    std::tie(ws, ws_mem) = onednn::alloc(k->ws_md);
    args[DNNL_ARG_WORKSPACE] = ws_mem;
  }
  onednn::execute(k->fwd, args);
  if (!training) return autograd::make_result(y, {x, w_ih, w_hh, b_ih, b_hh}, op, {});

  return autograd::make_result(
      y, {x, w_ih, w_hh, b_ih, b_hh}, op, [k, xv = x.value(), y, ws, wl, wi, bias](const Tensor& gy, Grads& g) {
        const RnnDims& dm = k->d;
        Tensor gx = Tensor::empty(xv.shape());
        // oneDNN 2.6 adds into the weight and bias gradients instead of overwriting them.
        std::memset(k->diff_wl.scratch.raw(), 0, k->diff_wl.scratch.bytes());
        std::memset(k->diff_wi.scratch.raw(), 0, k->diff_wi.scratch.bytes());
        k->diff_bias.zero_();
        onednn::execute(k->bwd, {{DNNL_ARG_SRC_LAYER, onednn::wrap(xv, k->x_md)},
                                 {DNNL_ARG_WEIGHTS_LAYER, feed(k->bwd_wl, wl)},
                                 {DNNL_ARG_WEIGHTS_ITER, feed(k->bwd_wi, wi)},
                                 {DNNL_ARG_BIAS, onednn::wrap(bias, k->bias_md)},
                                 {DNNL_ARG_DST_LAYER, onednn::wrap(y, k->y_md)},
                                 {DNNL_ARG_WORKSPACE, onednn::wrap(ws, k->ws_md)},
                                 {DNNL_ARG_DIFF_DST_LAYER, onednn::wrap(gy, k->y_md)},
                                 {DNNL_ARG_DIFF_SRC_LAYER, onednn::wrap(gx, k->x_md)},
                                 {DNNL_ARG_DIFF_WEIGHTS_LAYER, k->diff_wl.scratch_mem},
                                 {DNNL_ARG_DIFF_WEIGHTS_ITER, k->diff_wi.scratch_mem},
                                 {DNNL_ARG_DIFF_BIAS, onednn::wrap(k->diff_bias, k->bias_md)}});
        g.add(0, std::move(gx));
        const auto weight_grad = [&](std::size_t i, const Staged& s, Tensor& tmp, std::int64_t cols) {
          if (!g.needs(i)) return;
          Tensor gw = Tensor::empty(Shape{dm.D, dm.G * dm.H, cols});
          if (k->cell == Cell::lstm) {
            collect(s, gw);
          } else {
            collect(s, tmp);
            unpermute_gates(tmp.f32(), gw.f32(), dm.D, dm.G, dm.H * cols, kGruPerm);
          }
          g.add(i, std::move(gw));
        };
        weight_grad(1, k->diff_wl, k->diff_wl_user, dm.I);
        weight_grad(2, k->diff_wi, k->diff_wi_user, dm.H);
        if (g.needs(3) || g.needs(4)) {
          Tensor gb_ih = Tensor::empty(Shape{dm.D, dm.G * dm.H});
          Tensor gb_hh = Tensor::empty(Shape{dm.D, dm.G * dm.H});
          split_bias_grad(k->cell, k->diff_bias, gb_ih, gb_hh, dm);
          g.add(3, std::move(gb_ih));
          g.add(4, std::move(gb_hh));
        }
      });
}

}  // namespace

Var lstm(const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh, bool bidirectional) {
  return rnn("lstm", Cell::lstm, x, w_ih, w_hh, b_ih, b_hh, bidirectional);
}

Var gru(const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh, bool bidirectional) {
  return rnn("gru", Cell::gru, x, w_ih, w_hh, b_ih, b_hh, bidirectional);
}

ATTNLAB_OP(lstm, true, "onednn", "LSTM layer over [B, T, I] (PyTorch layout and gate order), uni- or bidirectional");
ATTNLAB_OP(gru, true, "onednn", "GRU layer over [B, T, I] (PyTorch's linear-before-reset form), uni- or bidirectional");

}  // namespace attnlab::ops
