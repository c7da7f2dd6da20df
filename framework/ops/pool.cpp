#include "framework/ops/pool.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace attnlab::ops {
namespace {

using dnnl::algorithm;
using onednn::dims;

struct PoolKernel {
  dnnl::pooling_v2_forward::primitive_desc fwd_pd;
  dnnl::pooling_v2_forward fwd;
  dnnl::pooling_v2_backward bwd;
  dnnl::memory::desc x_md, y_md;
  bool workspace;  // max pooling: argmax positions from the forward, read by the backward
};

// Pooling is layout-agnostic for us: user tensors are plain, and so is everything oneDNN sees.
std::shared_ptr<PoolKernel> kernel(const char* op, algorithm alg, const Shape& xs, const Shape& ys, const dims& k,
                                   const dims& stride, const dims& pad) {
  const std::string key = fmt::format("pool:{}:{}:{}:{}:{}", static_cast<int>(alg), xs.str(), fmt::join(k, ","),
                                      fmt::join(stride, ","), fmt::join(pad, ","));
  return onednn::cached<PoolKernel>(key, [&] {
    return onednn::guard(op, fmt::format("x {}, kernel [{}]", xs.str(), fmt::join(k, ", ")), [&] {
      const auto x_md = onednn::plain_md(xs), y_md = onednn::plain_md(ys);
      const dims no_dilation(k.size(), 0);
      dnnl::pooling_v2_forward::primitive_desc fwd_pd(
          dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_training, alg, x_md, y_md, stride, k, no_dilation,
                                         pad, pad),
          onednn::engine());
      dnnl::pooling_v2_backward::primitive_desc bwd_pd(
          dnnl::pooling_v2_backward::desc(alg, x_md, y_md, stride, k, no_dilation, pad, pad), onednn::engine(), fwd_pd);
      return PoolKernel{fwd_pd, dnnl::pooling_v2_forward(fwd_pd), dnnl::pooling_v2_backward(bwd_pd), x_md,
                        y_md,   alg == algorithm::pooling_max};
    });
  });
}

// Pools `x` viewed as `xs` (its own shape, or [N, C, S] for global pools) into `ys`; the result has
// shape `out` (ys itself, or ys without its trailing 1 for global pools).
Var pool(const char* op, algorithm alg, const Var& x, const Shape& xs, const Shape& ys, const Shape& out, const dims& k,
         const dims& stride, const dims& pad) {
  Tensor y = Tensor::empty(ys);
  if (xs[0] == 0)
    return autograd::make_result(y.reshape(out), {x}, op,
                                 [x_shape = x.shape()](const Tensor&, Grads& g) { g.add(0, Tensor::zeros(x_shape)); });
  auto kn = kernel(op, alg, xs, ys, k, stride, pad);
  Tensor ws;
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, onednn::wrap(x.value(), kn->x_md)},
                                             {DNNL_ARG_DST, onednn::wrap(y, kn->y_md)}};
  if (kn->workspace) {
    auto [buf, m] = onednn::alloc(kn->fwd_pd.workspace_desc());
    ws = std::move(buf);
    args.emplace(DNNL_ARG_WORKSPACE, std::move(m));
  }
  onednn::execute(kn->fwd, args);
  return autograd::make_result(
      y.reshape(out), {x}, op, [kn, ws, x_shape = x.shape(), xs, ys](const Tensor& gy, Grads& g) {
        Tensor gx = Tensor::empty(xs);
        std::unordered_map<int, dnnl::memory> bargs{{DNNL_ARG_DIFF_DST, onednn::wrap(gy.reshape(ys), kn->y_md)},
                                                    {DNNL_ARG_DIFF_SRC, onednn::wrap(gx, kn->x_md)}};
        if (kn->workspace) bargs.emplace(DNNL_ARG_WORKSPACE, onednn::wrap(ws, kn->fwd_pd.workspace_desc()));
        onednn::execute(kn->bwd, bargs);
        g.add(0, gx.reshape(x_shape));
      });
}

std::string describe(const std::vector<int>& kernel, const std::vector<int>& stride, const std::vector<int>& pad) {
  return fmt::format("kernel [{}], stride [{}], padding [{}]", fmt::join(kernel, ", "), fmt::join(stride, ", "),
                     fmt::join(pad, ", "));
}

// Checks x and the options of an n-D pooling (stride 0 already replaced by the kernel) and pools.
Var windowed(const char* op, algorithm alg, const Var& x, int n, const std::vector<int>& kernel,
             const std::vector<int>& stride, const std::vector<int>& pad) {
  require_f32(op, x, "x");
  if (x.rank() != n + 2)
    throw ShapeError(op, fmt::format("expects x {}, got x {}", n == 1 ? "[N, C, W]" : "[N, C, H, W]", x.shape().str()));
  for (int i = 1; i < n + 2; ++i)
    if (x.shape()[i] == 0) throw ShapeError(op, fmt::format("empty dimension in x {}", x.shape().str()));
  Shape ys{x.shape()[0], x.shape()[1]};
  for (int i = 0; i < n; ++i) {
    const auto a = static_cast<std::size_t>(i);
    if (kernel[a] < 1 || stride[a] < 1 || pad[a] < 0 || pad[a] > kernel[a] / 2)
      throw ShapeError(op, fmt::format("needs kernel >= 1, stride >= 0 and 0 <= padding <= kernel / 2, got {} for x {}",
                                       describe(kernel, stride, pad), x.shape().str()));
    const std::int64_t in = x.shape()[i + 2] + 2 * pad[a];
    if (kernel[a] > in)
      throw ShapeError(
          op, fmt::format("kernel {} is larger than the padded input {} (size {} + 2 * padding {}) on "
                          "spatial axis {}: x {}, {}",
                          kernel[a], in, x.shape()[i + 2], pad[a], i, x.shape().str(), describe(kernel, stride, pad)));
    ys.dims().push_back((in - kernel[a]) / stride[a] + 1);
  }
  return pool(op, alg, x, x.shape(), ys, ys, dims(kernel.begin(), kernel.end()), dims(stride.begin(), stride.end()),
              dims(pad.begin(), pad.end()));
}

Var pool1d(const char* op, algorithm alg, const Var& x, Pool1dOptions o) {
  return windowed(op, alg, x, 1, {o.kernel}, {o.stride == 0 ? o.kernel : o.stride}, {o.padding});
}

Var pool2d(const char* op, algorithm alg, const Var& x, Pool2dOptions o) {
  return windowed(op, alg, x, 2, {o.kernel[0], o.kernel[1]},
                  {o.stride[0] == 0 ? o.kernel[0] : o.stride[0], o.stride[1] == 0 ? o.kernel[1] : o.stride[1]},
                  {o.padding[0], o.padding[1]});
}

Var global(const char* op, algorithm alg, const Var& x) {
  require_f32(op, x, "x");
  if (x.rank() < 3)
    throw ShapeError(op, fmt::format("expects x [N, C, ...] with spatial axes, got x {}", x.shape().str()));
  for (int i = 1; i < x.rank(); ++i)
    if (x.shape()[i] == 0) throw ShapeError(op, fmt::format("empty dimension in x {}", x.shape().str()));
  const std::int64_t n = x.shape()[0], c = x.shape()[1], s = x.shape().prod(2, x.rank());
  // Every spatial layout pools the same way once flattened: one 1-D window over all S positions.
  return pool(op, alg, x, Shape{n, c, s}, Shape{n, c, 1}, Shape{n, c}, {s}, {s}, {0});
}

}  // namespace

Var max_pool1d(const Var& x, Pool1dOptions o) { return pool1d("max_pool1d", algorithm::pooling_max, x, o); }
Var avg_pool1d(const Var& x, Pool1dOptions o) {
  return pool1d("avg_pool1d", algorithm::pooling_avg_include_padding, x, o);
}
Var max_pool2d(const Var& x, Pool2dOptions o) { return pool2d("max_pool2d", algorithm::pooling_max, x, o); }
Var avg_pool2d(const Var& x, Pool2dOptions o) {
  return pool2d("avg_pool2d", algorithm::pooling_avg_include_padding, x, o);
}
Var global_max_pool(const Var& x) { return global("global_max_pool", algorithm::pooling_max, x); }
Var global_avg_pool(const Var& x) { return global("global_avg_pool", algorithm::pooling_avg_include_padding, x); }

ATTNLAB_OP(max_pool1d, true, "onednn", "max over sliding windows of [N, C, W]");
ATTNLAB_OP(avg_pool1d, true, "onednn", "mean over sliding windows of [N, C, W], padding counted");
ATTNLAB_OP(max_pool2d, true, "onednn", "max over sliding windows of [N, C, H, W]");
ATTNLAB_OP(avg_pool2d, true, "onednn", "mean over sliding windows of [N, C, H, W], padding counted");
ATTNLAB_OP(global_max_pool, true, "onednn", "max over every spatial axis: [N, C, ...] -> [N, C]");
ATTNLAB_OP(global_avg_pool, true, "onednn", "mean over every spatial axis: [N, C, ...] -> [N, C]");

}  // namespace attnlab::ops
