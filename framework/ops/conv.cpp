#include "framework/ops/conv.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace attnlab::ops {
namespace {

using dnnl::algorithm;
using onednn::dims;
using md_t = dnnl::memory::desc;

// Per spatial axis, in oneDNN's conventions (dilation 0 = none).
struct Geometry {
  dims stride, dilation, pad_l, pad_r;
};

struct ConvKernel {
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_w_pd;
  dnnl::convolution_backward_weights bwd_w;
  md_t x_md, w_md, b_md, y_md;  // plain layouts of the user tensors
  bool bias = false;
};

// An output the primitive writes in its own layout `want`, delivered in the plain tensor `t`.
class PlainOutput {
 public:
  PlainOutput(const Tensor& t, const md_t& plain, const md_t& want) : user_(onednn::wrap(t, plain)) {
    if (plain == want) {
      mem_ = user_;
    } else {
      auto [buf, m] = onednn::alloc(want);
      keep_ = std::move(buf);
      mem_ = std::move(m);
    }
  }
  const dnnl::memory& mem() const { return mem_; }
  void finish() {
    if (keep_.defined()) onednn::reorder(mem_, user_);
  }

 private:
  dnnl::memory user_, mem_;
  Tensor keep_;
};

// xs and ys are the logical shapes [N, C, spatial...]; `channels_last` says the tensors hold them
// as [N, spatial..., C] (1-D only: oneDNN's nwc).
std::shared_ptr<ConvKernel> kernel(const char* op, const Shape& xs, const Shape& ws, bool bias, const Shape& ys,
                                   const Geometry& g, bool channels_last) {
  const std::string key =
      fmt::format("conv:{}:{}:{}:{}:{}:{}:{}:{}", xs.str(), ws.str(), bias, fmt::join(g.stride, ","),
                  fmt::join(g.dilation, ","), fmt::join(g.pad_l, ","), fmt::join(g.pad_r, ","), channels_last);
  return onednn::cached<ConvKernel>(key, [&] {
    return onednn::guard(op, fmt::format("x {}, w {}", xs.str(), ws.str()), [&] {
      const auto nwc = [](const Shape& s) { return md_t(onednn::to_dims(s), onednn::dt::f32, onednn::tag::nwc); };
      const md_t x_md = channels_last ? nwc(xs) : onednn::plain_md(xs), w_md = onednn::plain_md(ws),
                 y_md = channels_last ? nwc(ys) : onednn::plain_md(ys);
      const md_t b_md = bias ? onednn::plain_md(Shape{ws[0]}) : md_t();
      // Channels-last tensors are computed in place: oneDNN's nwc kernels (brgconv forward) are
      // as fast as its blocked ones here, and no activation is reordered.
      const md_t x_any = channels_last ? x_md : md_t(onednn::to_dims(xs), onednn::dt::f32, onednn::tag::any);
      const md_t w_any(onednn::to_dims(ws), onednn::dt::f32, onednn::tag::any);
      const md_t y_any = channels_last ? y_md : md_t(onednn::to_dims(ys), onednn::dt::f32, onednn::tag::any);
      const auto& eng = onednn::engine();
      dnnl::convolution_forward::primitive_desc fwd_pd(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm::convolution_direct, x_any,
                                          w_any, b_md, y_any, g.stride, g.dilation, g.pad_l, g.pad_r),
          eng);
      dnnl::convolution_backward_data::primitive_desc bwd_data_pd(
          dnnl::convolution_backward_data::desc(algorithm::convolution_direct, x_any, w_any, y_any, g.stride,
                                                g.dilation, g.pad_l, g.pad_r),
          eng, fwd_pd);
      dnnl::convolution_backward_weights::primitive_desc bwd_w_pd(
          dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, x_any, w_any, b_md, y_any, g.stride,
                                                   g.dilation, g.pad_l, g.pad_r),
          eng, fwd_pd);
      return ConvKernel{.fwd_pd = fwd_pd,
                        .fwd = dnnl::convolution_forward(fwd_pd),
                        .bwd_data_pd = bwd_data_pd,
                        .bwd_data = dnnl::convolution_backward_data(bwd_data_pd),
                        .bwd_w_pd = bwd_w_pd,
                        .bwd_w = dnnl::convolution_backward_weights(bwd_w_pd),
                        .x_md = x_md,
                        .w_md = w_md,
                        .b_md = b_md,
                        .y_md = y_md,
                        .bias = bias};
    });
  });
}

std::string shapes(const Var& x, const Var& w, const Var& b) {
  return b.defined() ? fmt::format("x {}, w {}, b {}", x.shape().str(), w.shape().str(), b.shape().str())
                     : fmt::format("x {}, w {}", x.shape().str(), w.shape().str());
}

// Checks the operands and options of an n-D convolution (n spatial axes; options per axis, in
// PyTorch's conventions) and returns the output shape.
// `xs` is x's logical shape [N, C, spatial...] (x itself may hold it channels-last).
Shape check(const char* op, const Var& x, const Shape& xs, const Var& w, const Var& b, int n,
            const std::vector<int>& stride, const std::vector<int>& dilation, const std::vector<int>& pad_l,
            const std::vector<int>& pad_r, bool channels_last = false) {
  require_f32(op, x, "x");
  require_f32(op, w, "w");
  if (b.defined()) require_f32(op, b, "b");
  const char* layout = n == 2          ? "x [N, C, H, W] and w [O, C, KH, KW]"
                       : channels_last ? "x [N, W, C] (channels last) and w [O, C, K]"
                                       : "x [N, C, W] and w [O, C, K]";
  if (x.rank() != n + 2 || w.rank() != n + 2)
    throw ShapeError(op, fmt::format("expects {}, got {}", layout, shapes(x, w, b)));
  if (xs[1] != w.shape()[1])
    throw ShapeError(op, fmt::format("x {} has {} channels but w {} expects {}", x.shape().str(), xs[1],
                                     w.shape().str(), w.shape()[1]));
  if (b.defined() && (b.rank() != 1 || b.shape()[0] != w.shape()[0]))
    throw ShapeError(op, fmt::format("b {} must be [{}], one bias per output channel of w {}", b.shape().str(),
                                     w.shape()[0], w.shape().str()));
  for (int i = 1; i < n + 2; ++i)
    if (xs[i] == 0 || w.shape()[i] == 0) throw ShapeError(op, fmt::format("empty dimension in {}", shapes(x, w, b)));
  if (w.shape()[0] == 0) throw ShapeError(op, fmt::format("empty dimension in {}", shapes(x, w, b)));
  Shape y{xs[0], w.shape()[0]};
  for (int i = 0; i < n; ++i) {
    const auto a = static_cast<std::size_t>(i);
    if (stride[a] < 1 || dilation[a] < 1 || pad_l[a] < 0 || pad_r[a] < 0)
      throw ShapeError(op, fmt::format("needs stride >= 1, dilation >= 1 and padding >= 0 on spatial axis {}, got "
                                       "stride {}, dilation {}, padding ({}, {}) for {}",
                                       i, stride[a], dilation[a], pad_l[a], pad_r[a], shapes(x, w, b)));
    const std::int64_t in = xs[i + 2] + pad_l[a] + pad_r[a];
    const std::int64_t span = static_cast<std::int64_t>(dilation[a]) * (w.shape()[i + 2] - 1) + 1;
    if (span > in)
      throw ShapeError(
          op, fmt::format("kernel spanning {} (size {}, dilation {}) is larger than the padded input {} "
                          "(size {} + padding {} + {}) on spatial axis {}: {}",
                          span, w.shape()[i + 2], dilation[a], in, xs[i + 2], pad_l[a], pad_r[a], i, shapes(x, w, b)));
    y.dims().push_back((in - span) / stride[a] + 1);
  }
  return y;
}

// ys: the logical output shape [N, O, spatial...]; channels_last: x and y hold [N, W, C] (1-D).
Var conv(const char* op, const Var& x, const Shape& x_logical, const Var& w, const Var& b, const Shape& ys,
         const Geometry& g, bool channels_last = false) {
  const bool bias = b.defined();
  Tensor y = Tensor::empty(channels_last ? Shape{ys[0], ys[2], ys[1]} : ys);
  if (ys[0] == 0) {
    return autograd::make_result(y, {x, w, b}, op, [xs = x.shape(), ws = w.shape(), bias](const Tensor&, Grads& gr) {
      gr.add(0, Tensor::zeros(xs));
      gr.add(1, Tensor::zeros(ws));
      if (bias) gr.add(2, Tensor::zeros(Shape{ws[0]}));
    });
  }
  auto k = kernel(op, x_logical, w.shape(), bias, ys, g, channels_last);
  Tensor x_keep, w_keep;
  const dnnl::memory x_mem = onednn::reorder_if_needed(onednn::wrap(x.value(), k->x_md), k->fwd_pd.src_desc(), x_keep);
  const dnnl::memory w_mem =
      onednn::reorder_if_needed(onednn::wrap(w.value(), k->w_md), k->fwd_pd.weights_desc(), w_keep);
  PlainOutput out(y, k->y_md, k->fwd_pd.dst_desc());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, x_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, out.mem()}};
  if (bias) args.emplace(DNNL_ARG_BIAS, onednn::wrap(b.value(), k->b_md));
  onednn::execute(k->fwd, args);
  out.finish();

  // The backward keeps x and w in the forward's layouts: usually the backward primitives want the
  // same ones, so nothing is reordered twice.
  Tensor xs = x_keep.defined() ? x_keep : x.value();
  Tensor wt = w_keep.defined() ? w_keep : w.value();
  return autograd::make_result(
      y, {x, w, b}, op, [k, xs, wt, x_shape = x.shape(), w_shape = w.shape()](const Tensor& gy, Grads& gr) {
        // gy in the layout a backward primitive wants; both usually want the same, reordered once.
        const dnnl::memory gy_plain = onednn::wrap(gy, k->y_md);
        dnnl::memory gy_mem = gy_plain;
        Tensor gy_keep;
        const auto gy_as = [&](const md_t& want) {
          if (gy_mem.get_desc() != want) gy_mem = onednn::reorder_if_needed(gy_plain, want, gy_keep);
          return gy_mem;
        };
        if (gr.needs(0)) {
          Tensor w_keep2;
          const dnnl::memory w_bwd = onednn::reorder_if_needed(onednn::wrap(wt, k->fwd_pd.weights_desc()),
                                                               k->bwd_data_pd.weights_desc(), w_keep2);
          Tensor gx = Tensor::empty(x_shape);
          PlainOutput gx_out(gx, k->x_md, k->bwd_data_pd.diff_src_desc());
          onednn::execute(k->bwd_data, {{DNNL_ARG_DIFF_DST, gy_as(k->bwd_data_pd.diff_dst_desc())},
                                        {DNNL_ARG_WEIGHTS, w_bwd},
                                        {DNNL_ARG_DIFF_SRC, gx_out.mem()}});
          gx_out.finish();
          gr.add(0, std::move(gx));
        }
        if (gr.needs(1) || gr.needs(2)) {
          Tensor x_keep2;
          const dnnl::memory x_bwd =
              onednn::reorder_if_needed(onednn::wrap(xs, k->fwd_pd.src_desc()), k->bwd_w_pd.src_desc(), x_keep2);
          Tensor gw = Tensor::empty(w_shape);
          PlainOutput gw_out(gw, k->w_md, k->bwd_w_pd.diff_weights_desc());
          std::unordered_map<int, dnnl::memory> args2{{DNNL_ARG_DIFF_DST, gy_as(k->bwd_w_pd.diff_dst_desc())},
                                                      {DNNL_ARG_SRC, x_bwd},
                                                      {DNNL_ARG_DIFF_WEIGHTS, gw_out.mem()}};
          Tensor gb;
          std::optional<PlainOutput> gb_out;
          if (k->bias) {
            gb = Tensor::empty(Shape{w_shape[0]});
            gb_out.emplace(gb, k->b_md, k->bwd_w_pd.diff_bias_desc());
            args2.emplace(DNNL_ARG_DIFF_BIAS, gb_out->mem());
          }
          onednn::execute(k->bwd_w, args2);
          gw_out.finish();
          gr.add(1, std::move(gw));
          if (gb_out) {
            gb_out->finish();
            gr.add(2, std::move(gb));
          }
        }
      });
}

}  // namespace

Var conv1d(const Var& x, const Var& w, const Var& b, Conv1dOptions o) {
  const char* op = "conv1d";
  const Shape xs = o.channels_last && x.rank() == 3 ? Shape{x.shape()[0], x.shape()[2], x.shape()[1]} : x.shape();
  const Shape ys = check(op, x, xs, w, b, 1, {o.stride}, {o.dilation}, {o.pad_left}, {o.pad_right}, o.channels_last);
  return conv(op, x, xs, w, b, ys, Geometry{{o.stride}, {o.dilation - 1}, {o.pad_left}, {o.pad_right}},
              o.channels_last);
}

Var conv2d(const Var& x, const Var& w, const Var& b, Conv2dOptions o) {
  const char* op = "conv2d";
  const std::vector<int> stride(o.stride.begin(), o.stride.end()), dilation(o.dilation.begin(), o.dilation.end()),
      pad(o.padding.begin(), o.padding.end());
  const Shape ys = check(op, x, x.shape(), w, b, 2, stride, dilation, pad, pad);
  return conv(op, x, x.shape(), w, b, ys,
              Geometry{{o.stride[0], o.stride[1]},
                       {o.dilation[0] - 1, o.dilation[1] - 1},
                       {o.padding[0], o.padding[1]},
                       {o.padding[0], o.padding[1]}});
}

ATTNLAB_OP(conv1d, true, "onednn", "1-D cross-correlation [N, C, W] * [O, C, K] + b, stride/padding/dilation");
ATTNLAB_OP(conv2d, true, "onednn", "2-D cross-correlation [N, C, H, W] * [O, C, KH, KW] + b, stride/padding/dilation");

}  // namespace attnlab::ops
