#include "framework/ops/layer_norm.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <algorithm>
#include <bit>

namespace attnlab::ops {
namespace {

using flags = dnnl::normalization_flags;

struct LayerNormKernel {
  dnnl::layer_normalization_forward fwd;
  dnnl::layer_normalization_backward bwd;
  dnnl::memory::desc data_md, stat_md, param_md;
};

std::shared_ptr<LayerNormKernel> kernel(std::int64_t rows, std::int64_t c, bool scale, bool shift, float eps) {
  const std::string key =
      fmt::format("layer_norm:{}:{}:{}:{}:{:08x}", rows, c, scale, shift, std::bit_cast<std::uint32_t>(eps));
  return onednn::cached<LayerNormKernel>(key, [&] {
    return onednn::guard("layer_norm", fmt::format("[{}, {}] eps {}", rows, c, eps), [&] {
      const auto data_md = onednn::plain_md(Shape{rows, c});
      const auto stat_md = onednn::plain_md(Shape{rows});
      const auto param_md = onednn::plain_md(Shape{c});
      flags f = flags::none;
      if (scale) f |= flags::use_scale;
      if (shift) f |= flags::use_shift;
      dnnl::layer_normalization_forward::primitive_desc fwd_pd(
          dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_training, data_md, stat_md, eps, f),
          onednn::engine());
      // Without scale or shift there are no parameter gradients: backward_data is the only valid kind.
      const auto bwd_kind = (scale || shift) ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
      dnnl::layer_normalization_backward::primitive_desc bwd_pd(
          dnnl::layer_normalization_backward::desc(bwd_kind, data_md, data_md, stat_md, eps, f), onednn::engine(),
          fwd_pd);
      return LayerNormKernel{dnnl::layer_normalization_forward(fwd_pd), dnnl::layer_normalization_backward(bwd_pd),
                             data_md, stat_md, param_md};
    });
  });
}

void check_param(const Var& p, const char* what, const Shape& xs) {
  if (!p.defined()) return;
  require_f32("layer_norm", p, what);
  if (p.shape() != Shape{xs[-1]})
    throw ShapeError("layer_norm",
                     fmt::format("{} must be [{}] for x {}, got {}", what, xs[-1], xs.str(), p.shape().str()));
}

}  // namespace

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps) {
  require_f32("layer_norm", x, "x");
  const Shape& xs = x.shape();
  if (xs.rank() == 0) throw ShapeError("layer_norm", "x must have rank >= 1, got a scalar []");
  check_param(gamma, "gamma", xs);
  check_param(beta, "beta", xs);
  const bool scale = gamma.defined(), shift = beta.defined();
  const std::int64_t c = xs[-1], rows = xs.numel() / std::max<std::int64_t>(c, 1);
  Tensor y = Tensor::empty(xs);
  if (xs.numel() == 0) {
    return autograd::make_result(y, {x, gamma, beta}, "layer_norm", [c](const Tensor&, Grads& g) {
      g.add(1, Tensor::zeros(Shape{c}));
      g.add(2, Tensor::zeros(Shape{c}));
    });
  }
  auto k = kernel(rows, c, scale, shift, eps);
  Tensor mean = Tensor::empty(Shape{rows}), var = Tensor::empty(Shape{rows});
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, onednn::wrap(x.value(), k->data_md)},
                                             {DNNL_ARG_DST, onednn::wrap(y, k->data_md)},
                                             {DNNL_ARG_MEAN, onednn::wrap(mean, k->stat_md)},
                                             {DNNL_ARG_VARIANCE, onednn::wrap(var, k->stat_md)}};
  if (scale) args.emplace(DNNL_ARG_SCALE, onednn::wrap(gamma.value(), k->param_md));
  if (shift) args.emplace(DNNL_ARG_SHIFT, onednn::wrap(beta.value(), k->param_md));
  onednn::guard("layer_norm", xs.str(), [&] { onednn::execute(k->fwd, args); });

  // oneDNN's backward takes beta as an argument when use_shift is set, though dx does not depend on it.
  Tensor xv = x.value(), gv = scale ? gamma.value() : Tensor(), bv = shift ? beta.value() : Tensor();
  return autograd::make_result(
      y, {x, gamma, beta}, "layer_norm", [k, xv, gv, bv, mean, var, scale, shift](const Tensor& gy, Grads& g) {
        Tensor gx = Tensor::empty(xv.shape());
        std::unordered_map<int, dnnl::memory> bargs{{DNNL_ARG_SRC, onednn::wrap(xv, k->data_md)},
                                                    {DNNL_ARG_DIFF_DST, onednn::wrap(gy, k->data_md)},
                                                    {DNNL_ARG_MEAN, onednn::wrap(mean, k->stat_md)},
                                                    {DNNL_ARG_VARIANCE, onednn::wrap(var, k->stat_md)},
                                                    {DNNL_ARG_DIFF_SRC, onednn::wrap(gx, k->data_md)}};
        Tensor ggamma, gbeta;
        if (scale) {
          ggamma = Tensor::empty(Shape{xv.shape()[-1]});
          bargs.emplace(DNNL_ARG_SCALE, onednn::wrap(gv, k->param_md));
          bargs.emplace(DNNL_ARG_DIFF_SCALE, onednn::wrap(ggamma, k->param_md));
        }
        if (shift) {
          gbeta = Tensor::empty(Shape{xv.shape()[-1]});
          bargs.emplace(DNNL_ARG_SHIFT, onednn::wrap(bv, k->param_md));
          bargs.emplace(DNNL_ARG_DIFF_SHIFT, onednn::wrap(gbeta, k->param_md));
        }
        onednn::guard("layer_norm backward", xv.shape().str(), [&] { onednn::execute(k->bwd, bargs); });
        g.add(0, std::move(gx));
        if (scale) g.add(1, std::move(ggamma));
        if (shift) g.add(2, std::move(gbeta));
      });
}

ATTNLAB_OP(layer_norm, true, "onednn", "normalise over the last axis, optional scale gamma and shift beta");

}  // namespace attnlab::ops
