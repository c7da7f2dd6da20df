#include "framework/ops/eltwise.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

namespace attnlab::ops {
namespace {

using dnnl::algorithm;

struct EltwiseKernel {
  dnnl::eltwise_forward::primitive_desc fwd_pd;
  dnnl::eltwise_forward fwd;
  dnnl::eltwise_backward bwd;
  bool use_dst;  // backward reads the output instead of the input
  dnnl::memory::desc md;
};

// Eltwise is layout-agnostic, so the kernel is keyed by element count only: every shape with the
// same numel shares one primitive.
std::shared_ptr<EltwiseKernel> kernel(const char* op, algorithm alg, bool use_dst, std::int64_t n) {
  return onednn::cached<EltwiseKernel>(fmt::format("eltwise:{}:{}", static_cast<int>(alg), n), [&] {
    return onednn::guard(op, fmt::format("{} elements", n), [&] {
      const auto md = onednn::plain_md(Shape{n});
      dnnl::eltwise_forward::primitive_desc fwd_pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, 0.f, 0.f), onednn::engine());
      dnnl::eltwise_backward::primitive_desc bwd_pd(dnnl::eltwise_backward::desc(alg, md, md, 0.f, 0.f),
                                                    onednn::engine(), fwd_pd);
      return EltwiseKernel{fwd_pd, dnnl::eltwise_forward(fwd_pd), dnnl::eltwise_backward(bwd_pd), use_dst, md};
    });
  });
}

Var eltwise(const char* op, algorithm alg, bool use_dst, const Var& x) {
  require_f32(op, x);
  const std::int64_t n = x.value().numel();
  Tensor y = Tensor::empty(x.shape());
  if (n == 0) return autograd::make_result(y, {x}, op, [](const Tensor&, Grads&) {});
  auto k = kernel(op, alg, use_dst, n);
  onednn::execute(k->fwd, {{DNNL_ARG_SRC, onednn::wrap(x.value(), k->md)}, {DNNL_ARG_DST, onednn::wrap(y, k->md)}});
  Tensor saved = use_dst ? y : x.value();
  return autograd::make_result(y, {x}, op, [k, saved](const Tensor& gy, Grads& g) {
    Tensor gx = Tensor::empty(saved.shape());
    onednn::execute(k->bwd, {{k->use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, onednn::wrap(saved, k->md)},
                             {DNNL_ARG_DIFF_DST, onednn::wrap(gy, k->md)},
                             {DNNL_ARG_DIFF_SRC, onednn::wrap(gx, k->md)}});
    g.add(0, std::move(gx));
  });
}

}  // namespace

Var relu(const Var& x) { return eltwise("relu", algorithm::eltwise_relu_use_dst_for_bwd, true, x); }
Var gelu(const Var& x) { return eltwise("gelu", algorithm::eltwise_gelu_erf, false, x); }
Var tanh(const Var& x) { return eltwise("tanh", algorithm::eltwise_tanh_use_dst_for_bwd, true, x); }
Var sigmoid(const Var& x) { return eltwise("sigmoid", algorithm::eltwise_logistic_use_dst_for_bwd, true, x); }
Var exp(const Var& x) { return eltwise("exp", algorithm::eltwise_exp_use_dst_for_bwd, true, x); }
Var log(const Var& x) { return eltwise("log", algorithm::eltwise_log, false, x); }

ATTNLAB_OP(relu, true, "onednn", "max(x, 0)");
ATTNLAB_OP(gelu, true, "onednn", "x * Phi(x), exact erf form");
ATTNLAB_OP(tanh, true, "onednn", "hyperbolic tangent");
ATTNLAB_OP(sigmoid, true, "onednn", "1 / (1 + exp(-x))");
ATTNLAB_OP(exp, true, "onednn", "e^x");
ATTNLAB_OP(log, true, "onednn", "natural logarithm");

}  // namespace attnlab::ops
