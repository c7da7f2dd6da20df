#include "framework/ops/matmul.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/eltwise.h"
#include "framework/ops/op_registry.h"

#include <algorithm>
#include <cmath>

namespace attnlab::ops {
namespace {

using dnnl::algorithm;

// One product z = op(x) · op(y) over row-major buffers: x holds bx matrices ([m, k], or [k, m] if
// tx), y holds by matrices ([k, n], or [n, k] if ty), z holds max(bx, by) matrices [m, n]. bx and
// by are equal or one of them is 1 (that operand is shared by every batch element).
struct Gemm {
  std::int64_t bx = 1, by = 1;
  std::int64_t m = 0, k = 0, n = 0;
  bool tx = false, ty = false;

  std::int64_t batch() const { return std::max(bx, by); }
  std::string str() const {
    return fmt::format("{}x[{}, {}]{} times {}x[{}, {}]{}", bx, tx ? k : m, tx ? m : k, tx ? "ᵀ" : "", by, ty ? n : k,
                       ty ? k : n, ty ? "ᵀ" : "");
  }
};

struct GemmKernel {
  dnnl::matmul prim;
  dnnl::memory::desc x_md, y_md, bias_md, z_md;
};

// Descriptor of `count` row-major matrices of `rows` x `cols` seen as [count, r, c] (transposed:
// r = cols, c = rows, via strides). Rank 2 when the product has no batch.
dnnl::memory::desc operand_md(bool batched, std::int64_t count, std::int64_t rows, std::int64_t cols, bool trans) {
  const std::int64_t r = trans ? cols : rows, c = trans ? rows : cols;
  const std::int64_t rs = trans ? 1 : cols, cs = trans ? cols : 1;
  if (!batched) return onednn::strided_md({r, c}, {rs, cs});
  return onednn::strided_md({count, r, c}, {rows * cols, rs, cs});
}

std::shared_ptr<GemmKernel> gemm_kernel(const char* op, const Gemm& g, bool bias, algorithm act) {
  const std::string key = fmt::format("matmul:{}:{}:{}:{}:{}:{}:{}:{}:{}", g.bx, g.by, g.m, g.k, g.n, g.tx, g.ty, bias,
                                      static_cast<int>(act));
  return onednn::cached<GemmKernel>(key, [&] {
    return onednn::guard(op, g.str(), [&] {
      const bool batched = g.batch() > 1;
      GemmKernel k;
      k.x_md = operand_md(batched, g.bx, g.tx ? g.k : g.m, g.tx ? g.m : g.k, g.tx);
      k.y_md = operand_md(batched, g.by, g.ty ? g.n : g.k, g.ty ? g.k : g.n, g.ty);
      k.z_md = operand_md(batched, g.batch(), g.m, g.n, false);
      dnnl::primitive_attr attr;
      if (act != algorithm::undef) {
        dnnl::post_ops po;
        po.append_eltwise(1.f, act, 0.f, 0.f);
        attr.set_post_ops(po);
      }
      if (bias) {
        k.bias_md = batched ? onednn::plain_md(Shape{1, 1, g.n}) : onednn::plain_md(Shape{1, g.n});
        k.prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(k.x_md, k.y_md, k.bias_md, k.z_md), attr,
                                                           onednn::engine()));
      } else {
        k.prim = dnnl::matmul(
            dnnl::matmul::primitive_desc(dnnl::matmul::desc(k.x_md, k.y_md, k.z_md), attr, onednn::engine()));
      }
      return k;
    });
  });
}

// A product over an empty inner dim (oneDNN divides by it): act(0 + bias) in every row of z.
Tensor empty_product(Tensor& z, std::int64_t n, const Tensor& bias, algorithm act) {
  float* p = z.f32();
  for (std::int64_t i = 0; i < z.numel(); ++i) {
    const float v = bias.defined() ? bias.f32()[i % n] : 0.f;
    switch (act) {
      case algorithm::eltwise_relu:
        p[i] = std::max(v, 0.f);
        break;
      case algorithm::eltwise_tanh:
        p[i] = std::tanh(v);
        break;
      case algorithm::eltwise_logistic:
        p[i] = 1.f / (1.f + std::exp(-v));
        break;
      default:
        p[i] = v;
    }
  }
  return z;
}

// Runs g into a new tensor of shape `out` (numel batch·m·n), adding `bias` ([n], optional) and
// applying the eltwise `act` (undef: none) inside the primitive.
Tensor gemm(const char* op, const Gemm& g, const Tensor& x, const Tensor& y, Shape out, const Tensor& bias = {},
            algorithm act = algorithm::undef) {
  Tensor z = Tensor::empty(std::move(out));
  if (z.numel() == 0) return z;
  if (g.k == 0) return empty_product(z, g.n, bias, act);
  auto k = gemm_kernel(op, g, bias.defined(), act);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, onednn::wrap(x, k->x_md)},
                                             {DNNL_ARG_WEIGHTS, onednn::wrap(y, k->y_md)},
                                             {DNNL_ARG_DST, onednn::wrap(z, k->z_md)}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, onednn::wrap(bias, k->bias_md));
  onednn::execute(k->prim, args);
  return z;
}

// Sums a row-major [rows, cols] buffer over its rows into a new tensor of shape `out` (numel cols).
Tensor sum_rows(const Tensor& t, std::int64_t rows, std::int64_t cols, Shape out) {
  Tensor s = Tensor::zeros(std::move(out));
  float* o = s.f32();
  const float* p = t.f32();
  for (std::int64_t r = 0; r < rows; ++r, p += cols)
    for (std::int64_t c = 0; c < cols; ++c) o[c] += p[c];
  return s;
}

std::string describe(const Shape& s, bool trans) { return trans ? s.str() + " (transposed)" : s.str(); }

}  // namespace

Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b) {
  require_f32("matmul", a, "a");
  require_f32("matmul", b, "b");
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  auto fail = [&](std::string_view why) {
    throw ShapeError("matmul", fmt::format("{}: a {} and b {}", why, describe(as, trans_a), describe(bs, trans_b)));
  };
  if (as.rank() < 2 || bs.rank() < 2) fail("both operands need rank >= 2");
  const std::int64_t m = trans_a ? as[-1] : as[-2], k = trans_a ? as[-2] : as[-1];
  const std::int64_t kb = trans_b ? bs[-1] : bs[-2], n = trans_b ? bs[-2] : bs[-1];
  if (k != kb) fail(fmt::format("inner dims differ ({} vs {})", k, kb));
  const bool shared = bs.rank() == 2 && as.rank() > 2;
  if (!shared && !std::equal(as.begin(), as.end() - 2, bs.begin(), bs.end() - 2)) fail("batch dims differ");

  const std::int64_t batch = as.prod(0, as.rank() - 2);
  std::vector<std::int64_t> out_dims(as.begin(), as.end() - 2);
  out_dims.push_back(m);
  out_dims.push_back(n);
  // A shared b with an untransposed a is one 2-D GEMM over the flattened batch, forward and backward.
  const bool flat = shared && !trans_a;
  const std::int64_t bx = flat ? 1 : batch, by = shared ? 1 : batch, rows = flat ? batch * m : m;

  Tensor y = gemm("matmul", Gemm{bx, by, rows, k, n, trans_a, trans_b}, a.value(), b.value(), Shape(out_dims));
  return autograd::make_result(
      y, {a, b}, "matmul",
      [av = a.value(), bv = b.value(), trans_a, trans_b, shared, flat, bx, by, rows, m, k, n, batch](const Tensor& gy,
                                                                                                     Grads& g) {
        if (g.needs(0)) {
          // da = gy · op(b)ᵀ, stored transposed when trans_a: op(b) · gyᵀ.
          Tensor da = trans_a ? gemm("matmul", Gemm{by, bx, k, n, m, trans_b, true}, bv, gy, av.shape())
                              : gemm("matmul", Gemm{bx, by, rows, n, k, false, !trans_b}, gy, bv, av.shape());
          g.add(0, std::move(da));
        }
        if (g.needs(1)) {
          // db = op(a)ᵀ · gy, stored transposed when trans_b: gyᵀ · op(a). A shared b with a
          // transposed a takes one product per batch element, then their sum.
          const std::int64_t nb = shared && !flat ? batch : by;
          const Shape out = nb == by ? bv.shape() : Shape{nb, bv.shape()[0], bv.shape()[1]};
          Tensor db = trans_b ? gemm("matmul", Gemm{bx, bx, n, rows, k, true, trans_a}, gy, av, out)
                              : gemm("matmul", Gemm{bx, bx, k, rows, n, !trans_a, false}, av, gy, out);
          if (nb != by) db = sum_rows(db, nb, k * n, bv.shape());
          g.add(1, std::move(db));
        }
      });
}

Var linear(const Var& x, const Var& w, const Var& b, Activation act) {
  require_f32("linear", x, "x");
  require_f32("linear", w, "w");
  if (b.defined()) require_f32("linear", b, "b");
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const std::string bs = b.defined() ? b.shape().str() : "none";
  auto fail = [&](std::string_view why) {
    throw ShapeError("linear", fmt::format("{}: x {}, w {}, b {}", why, xs.str(), ws.str(), bs));
  };
  if (ws.rank() != 2) fail("w must be [out, in]");
  if (xs.rank() < 1 || xs[-1] != ws[1]) fail("the last dim of x must equal w's in");
  if (b.defined() && (b.rank() != 1 || b.shape()[0] != ws[0])) fail("b must be [out]");
  if (act == Activation::gelu) return gelu(linear(x, w, b, Activation::none));

  const std::int64_t out = ws[0], in = ws[1], rows = xs.prod(0, xs.rank() - 1);
  std::vector<std::int64_t> out_dims(xs.begin(), xs.end() - 1);
  out_dims.push_back(out);
  // The fused forward uses the plain algorithm; backward the *_use_dst_for_bwd twin on the output.
  algorithm fwd_alg = algorithm::undef, bwd_alg = algorithm::undef;
  switch (act) {
    case Activation::relu:
      fwd_alg = algorithm::eltwise_relu, bwd_alg = algorithm::eltwise_relu_use_dst_for_bwd;
      break;
    case Activation::tanh:
      fwd_alg = algorithm::eltwise_tanh, bwd_alg = algorithm::eltwise_tanh_use_dst_for_bwd;
      break;
    case Activation::sigmoid:
      fwd_alg = algorithm::eltwise_logistic, bwd_alg = algorithm::eltwise_logistic_use_dst_for_bwd;
      break;
    case Activation::none:
    case Activation::gelu:
      break;
  }

  Tensor y = gemm("linear", Gemm{1, 1, rows, in, out, false, true}, x.value(), w.value(), Shape(out_dims),
                  b.defined() ? b.value() : Tensor(), fwd_alg);
  std::shared_ptr<dnnl::eltwise_backward> act_bwd;
  dnnl::memory::desc act_md;
  if (bwd_alg != algorithm::undef && y.numel() > 0) {
    act_md = onednn::plain_md(Shape{y.numel()});
    act_bwd = onednn::cached<dnnl::eltwise_backward>(
        fmt::format("linear_act:{}:{}", static_cast<int>(bwd_alg), y.numel()), [&] {
          return onednn::guard("linear", fmt::format("activation backward over {} elements", y.numel()), [&] {
            dnnl::eltwise_forward::primitive_desc hint(
                dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, bwd_alg, act_md, 0.f, 0.f),
                onednn::engine());
            return dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
                dnnl::eltwise_backward::desc(bwd_alg, act_md, act_md, 0.f, 0.f), onednn::engine(), hint));
          });
        });
  }
  return autograd::make_result(
      y, {x, w, b}, "linear",
      [xv = x.value(), wv = w.value(), saved = act_bwd ? y : Tensor(), act_bwd, act_md, rows, in, out](const Tensor& gy,
                                                                                                       Grads& g) {
        Tensor gz = gy;  // [rows, out]: the gradient before the activation
        if (act_bwd) {
          gz = Tensor::empty(gy.shape());
          onednn::execute(*act_bwd, {{DNNL_ARG_DST, onednn::wrap(saved, act_md)},
                                     {DNNL_ARG_DIFF_DST, onednn::wrap(gy, act_md)},
                                     {DNNL_ARG_DIFF_SRC, onednn::wrap(gz, act_md)}});
        }
        if (g.needs(0)) g.add(0, gemm("linear", Gemm{1, 1, rows, out, in, false, false}, gz, wv, xv.shape()));
        if (g.needs(1)) g.add(1, gemm("linear", Gemm{1, 1, out, rows, in, true, false}, gz, xv, wv.shape()));
        if (g.needs(2)) g.add(2, sum_rows(gz, rows, out, Shape{out}));
      });
}

ATTNLAB_OP(matmul, true, "onednn", "batched op(a) · op(b), transposes as strides, rank-2 b shared over a's batch");
ATTNLAB_OP(linear, true, "onednn", "x · wᵀ + b with fused relu/tanh/sigmoid post-op (gelu unfused)");

}  // namespace attnlab::ops
