#include "framework/ops/softmax.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

namespace attnlab::ops {
namespace {

using dnnl::algorithm;

struct SoftmaxKernel {
  dnnl::softmax_v2_forward fwd;
  dnnl::softmax_v2_backward bwd;
  dnnl::memory::desc md;
};

// The dims before and after the axis are collapsed to [outer, n, inner] (or [outer, n] when the axis
// is last, oneDNN's dense path): the softmax only cares about the stride pattern around the axis.
std::shared_ptr<SoftmaxKernel> kernel(const char* op, algorithm alg, std::int64_t outer, std::int64_t n,
                                      std::int64_t inner) {
  const std::string key = fmt::format("softmax:{}:{}:{}:{}", static_cast<int>(alg), outer, n, inner);
  return onednn::cached<SoftmaxKernel>(key, [&] {
    return onednn::guard(op, fmt::format("[outer {}, axis {}, inner {}]", outer, n, inner), [&] {
      const auto md = inner == 1 ? onednn::plain_md(Shape{outer, n}) : onednn::plain_md(Shape{outer, n, inner});
      dnnl::softmax_v2_forward::primitive_desc fwd_pd(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training, alg, md, md, 1), onednn::engine());
      dnnl::softmax_v2_backward::primitive_desc bwd_pd(dnnl::softmax_v2_backward::desc(alg, md, md, md, 1),
                                                       onednn::engine(), fwd_pd);
      return SoftmaxKernel{dnnl::softmax_v2_forward(fwd_pd), dnnl::softmax_v2_backward(bwd_pd), md};
    });
  });
}

Var softmax_impl(const char* op, algorithm alg, const Var& x, int axis) {
  require_f32(op, x);
  const Shape& s = x.shape();
  const int a = normalize_axis(op, s, axis);
  Tensor y = Tensor::empty(s);
  if (s.numel() == 0) return autograd::make_result(y, {x}, op, [](const Tensor&, Grads&) {});
  auto k = kernel(op, alg, s.prod(0, a), s[a], s.prod(a + 1, s.rank()));
  onednn::guard(op, s.str(), [&] {
    onednn::execute(k->fwd, {{DNNL_ARG_SRC, onednn::wrap(x.value(), k->md)}, {DNNL_ARG_DST, onednn::wrap(y, k->md)}});
  });
  return autograd::make_result(y, {x}, op, [k, y, op](const Tensor& gy, Grads& g) {
    Tensor gx = Tensor::empty(y.shape());
    onednn::guard(op, y.shape().str(), [&] {
      onednn::execute(k->bwd, {{DNNL_ARG_DST, onednn::wrap(y, k->md)},
                               {DNNL_ARG_DIFF_DST, onednn::wrap(gy, k->md)},
                               {DNNL_ARG_DIFF_SRC, onednn::wrap(gx, k->md)}});
    });
    g.add(0, std::move(gx));
  });
}

}  // namespace

Var softmax(const Var& x, int axis) { return softmax_impl("softmax", algorithm::softmax_accurate, x, axis); }
Var log_softmax(const Var& x, int axis) { return softmax_impl("log_softmax", algorithm::softmax_log, x, axis); }

ATTNLAB_OP(softmax, true, "onednn", "exp(x) / sum(exp(x)) along an axis");
ATTNLAB_OP(log_softmax, true, "onednn", "x - logsumexp(x) along an axis");

}  // namespace attnlab::ops
