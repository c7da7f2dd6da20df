// extractor/cnn2d: a small stack of 2-D convolutions for image datasets (Fashion-MNIST 28x28x1,
// sklearn digits 8x8x1), turning an image into a sequence of spatial positions that attention can
// attend over (image regions as tokens).
//
// LeCun et al. (1998) "Gradient-Based Learning Applied to Document Recognition" (conv + pooling
// stacks); the regions-as-sequence read-out as in Xu et al. (2015) "Show, Attend and Tell" (attention
// over the L = H'·W' positions of a convolutional feature map).
//
// Input layout: an image arrives as its rows, x [B, H, W·C] with H = Context::seq_len and
// W·C = Context::in_dim, channels-last within a row (x[b, h, w·C + c] is pixel (h, w), channel c).
// Layer l (h_0 = x as [B, C, H, W]; k odd, "same" padding k/2 on every side):
//   y     = act(conv2d(h_l, W_l [C_l+1, C_l, k, k], b_l))          [B, C_l+1, H_l, W_l]
//   h_l+1 = max_pool2d(y, p x p, stride p)   (pool > 1; else y)     [B, C_l+1, ⌊H_l/p⌋, ⌊W_l/p⌋]
// Output: h_L [B, C', H', W'] read as the sequence [B, H'·W', C'] (position h'·W' + w').
//
// The output sequence is shorter than the input (T' = H'·W' = out_len(), not seq_len): the model
// assembly must build the stages after this extractor (attention, pooling) with seq_len = out_len()
// (dynamic_cast the Extractor to Cnn2dExtractor to reach it).
// The mask is ignored: images have no padding steps (and no mask would map onto regions anyway).
//
// Throws ShapeError (naming extractor/cnn2d and the shapes) at construction when in_dim is not a
// multiple of in_channels or when the image is too small for a layer's pooling, and in forward
// when x is not [B, seq_len, in_dim] or the mask is not [B, seq_len]; Error for an even kernel.
#pragma once

#include "framework/config/binder.h"
#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "plugins/common/sequence.h"
#include "plugins/extractor/common/activation.h"

#include <cmath>
#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct Cnn2dConfig {
  std::int64_t in_channels = 1;
  std::vector<std::int64_t> channels{16, 32};
  int kernel = 3;
  int pool = 2;
  std::string activation = "relu";
  template <class V>
  void visit(V& v) {
    v("in_channels", in_channels)
        .range(1, 4096)
        .doc("channels of a pixel C; a row of in_dim values holds in_dim / C pixels");
    v("channels", channels)
        .range(1, 4096)
        .doc("output channels of each convolution layer (one entry per layer, at least one)");
    v("kernel", kernel).range(1, 31).doc("square kernel size k (odd), with 'same' padding k/2");
    v("pool", pool).range(1, 8).doc("max_pool2d window and stride after each layer; 1: no pooling");
    v("activation", activation).choices({"relu", "gelu", "tanh"}).doc("activation after each convolution");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (channels.empty()) c.fail("channels", "extractor/cnn2d: channels must list at least one layer");
    if (kernel % 2 == 0)
      c.fail("kernel", fmt::format("extractor/cnn2d: kernel {} is even; 'same' padding needs an odd kernel", kernel));
  }
};

class Cnn2dExtractor : public model::Extractor {
 public:
  Cnn2dExtractor(const Cnn2dConfig& c, const Context& ctx)
      : in_dim_(ctx.in_dim), height_(ctx.seq_len), channels_in_(c.in_channels), pool_(c.pool),
        act_(activation_of(c.activation)) {
    config::enforce(c);
    if (in_dim_ % channels_in_ != 0)
      throw ShapeError("extractor/cnn2d",
                       fmt::format("in_dim {} is not a multiple of in_channels {}: rows [B, H, W*C] cannot be split "
                                   "into pixels of {} channels",
                                   in_dim_, channels_in_, channels_in_));
    width_ = in_dim_ / channels_in_;
    opt_.padding = {c.kernel / 2, c.kernel / 2};
    std::int64_t in = channels_in_, h = height_, w = width_;
    for (std::size_t l = 0; l < c.channels.size(); ++l) {
      const std::int64_t out = c.channels[l];
      if (h < pool_ || w < pool_)
        throw ShapeError("extractor/cnn2d",
                         fmt::format("layer {} sees a {}x{} map (image [H, W, C] = [{}, {}, {}]), smaller than "
                                     "its {}x{} pooling",
                                     l, h, w, height_, width_, channels_in_, pool_, pool_));
      const float bound = 1.0f / std::sqrt(static_cast<float>(in * c.kernel * c.kernel));  // torch.nn.Conv2d's default
      const std::string name = fmt::format("conv{}_", l);
      Layer layer;
      layer.w = add_param(name + "weight", core::Shape{out, in, c.kernel, c.kernel},
                          nn::init::uniform(*ctx.rng, -bound, bound));
      layer.b = add_param(name + "bias", core::Shape{out}, nn::init::uniform(*ctx.rng, -bound, bound));
      layers_.push_back(std::move(layer));
      in = out;
      h /= pool_;
      w /= pool_;
    }
    out_dim_ = in;
    out_h_ = h;
    out_w_ = w;
  }

  /// x [B, H, W*C] (H = seq_len), mask ignored -> [B, H'*W', C'] (out_len() positions, out_dim() wide).
  Var forward(const Var& x, const Tensor& mask) override {
    check_sequence("extractor/cnn2d", x, mask, in_dim_);
    if (x.shape()[1] != height_)
      throw ShapeError("extractor/cnn2d", fmt::format("expected x [B, {}, {}] (image height = seq_len {}), got {}",
                                                      height_, in_dim_, height_, x.shape().str()));
    const std::int64_t B = x.shape()[0];
    Var h = ops::permute(ops::reshape(x, core::Shape{B, height_, width_, channels_in_}), {0, 3, 1, 2});  // [B, C, H, W]
    for (const Layer& layer : layers_) {
      h = activate(ops::conv2d(h, layer.w, layer.b, opt_), act_);
      if (pool_ > 1) h = ops::max_pool2d(h, {.kernel = {pool_, pool_}});
    }
    return ops::transpose(ops::reshape(h, core::Shape{B, out_dim_, out_h_ * out_w_}), 1, 2);  // [B, H'*W', C']
  }
  std::int64_t out_dim() const override { return out_dim_; }
  /// The output sequence length H'*W' (the number of spatial positions). The model assembly must
  /// build the pooling (and attention) stage with this seq_len, not with Context::seq_len.
  std::int64_t out_len() const { return out_h_ * out_w_; }
  std::int64_t out_len(std::int64_t) const override { return out_len(); }
  bool fixed_length() const override { return true; }

 private:
  struct Layer {
    Var w, b;
  };
  std::int64_t in_dim_, height_, channels_in_, width_ = 0;
  int pool_;
  ops::Activation act_;
  ops::Conv2dOptions opt_;
  std::vector<Layer> layers_;
  std::int64_t out_dim_ = 0, out_h_ = 0, out_w_ = 0;
};

}  // namespace attnlab::plugins
