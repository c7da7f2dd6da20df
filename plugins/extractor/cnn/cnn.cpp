// extractor/cnn: stacked 1-D convolutions over time, with parallel kernel widths per layer.
//
// Kim (2014) "Convolutional Neural Networks for Sentence Classification" (TextCNN) and Tang & Wang
// (2018) "Caser" (horizontal filters): branches of several kernel widths, concatenated on the
// channel axis. Yuan et al. (2019) "NextItNet": stacked causal convolutions with growing dilation
// (1, 2, 4, ...) and residual connections.
//
// Layer l (h_0 = x [B, T, in]; d_l its dilation; k over kernel_sizes):
//   h'    = h_l ⊙ mask                                   padding steps read as zeros
//   y_k   = conv1d(h', W_{l,k} [C, in_l, k], b_{l,k}, dilation d_l)   [B, T, C] ("same" length)
//   y     = act(concat_k y_k)                            [B, T, C·K]
//   h_l+1 = dropout(y) + h_l     (residual, when the widths agree; otherwise without the sum)
// Output: (h_L ⊙ mask) as [B, T, C·K]; padding steps are zero.
//
// Padding: causal puts all d(k-1) zeros before the first step, so output step t sees steps <= t
// only; otherwise the zeros are split as PyTorch's padding="same" (floor half before, the rest
// after). Masked steps are zeroed before every layer, so a real step's output does not depend on
// what the padding steps contain: padding reads exactly like the convolution's own zero padding.
// A batch without padding skips the masking (the identity then).
//
// Activations stay time-major [B, T, channels] throughout: the convolutions run channels-last
// (oneDNN's nwc kernels), with no transpose or layout conversion around them.
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"
#include "plugins/extractor/common/activation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct CnnConfig {
  std::vector<int> kernel_sizes{3};
  std::int64_t channels = 64;
  int layers = 1;
  std::vector<int> dilations;
  int dilation_growth = 1;
  bool causal = false;
  std::string activation = "relu";
  bool residual = true;
  double dropout = 0.0;
  template <class V>
  void visit(V& v) {
    v("kernel_sizes", kernel_sizes)
        .range(1, 64)
        .doc("kernel widths of the parallel branches of every layer (at least one)");
    v("channels", channels)
        .range(1, 65536)
        .doc("output channels of each branch; a layer outputs channels * len(kernel_sizes)");
    v("layers", layers).range(1, 32).doc("stacked convolution layers");
    v("dilations", dilations).range(1, 4096).doc("dilation of each layer (one per layer); empty: dilation_growth^l");
    v("dilation_growth", dilation_growth)
        .range(1, 8)
        .doc("layer l has dilation dilation_growth^l (NextItNet: 2); only without dilations");
    v("causal", causal).doc("pad on the left only, so step t sees steps <= t (NextItNet); otherwise 'same' padding");
    v("activation", activation).choices({"relu", "gelu", "tanh"}).doc("activation after each layer's convolutions");
    v("residual", residual).doc("add each layer's input to its output where both widths agree");
    v("dropout", dropout).range(0.0, 0.99).doc("dropout on each layer's activations (training only)");
  }
  static constexpr std::int64_t kMaxDilation = 4096;
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (kernel_sizes.empty()) c.fail("kernel_sizes", "extractor/cnn: kernel_sizes must hold at least one kernel width");
    if (!dilations.empty() && dilations.size() != static_cast<std::size_t>(layers))
      c.fail("dilations", fmt::format("extractor/cnn: dilations has {} entries for {} layers (give one per layer, or "
                                      "none)",
                                      dilations.size(), layers));
    if (!dilations.empty() && dilation_growth != 1)
      c.fail("dilations", "extractor/cnn: give either dilations or dilation_growth, not both");
    if (dilations.empty())
      for (std::int64_t l = 0, d = 1; l < layers; ++l, d *= dilation_growth)
        if (d > kMaxDilation) {
          c.fail("dilation_growth", fmt::format("extractor/cnn: layer {} would have dilation {} (dilation_growth {}), "
                                                "beyond {}",
                                                l, d, dilation_growth, kMaxDilation));
          break;
        }
  }
};

class CnnExtractor : public model::Extractor {
 public:
  CnnExtractor(const CnnConfig& c, const Context& ctx)
      : in_dim_(ctx.in_dim), width_(c.channels * static_cast<std::int64_t>(c.kernel_sizes.size())),
        act_(activation_of(c.activation)), dropout_(static_cast<float>(c.dropout)), rng_(ctx.rng->next_u64()) {
    config::enforce(c);
    causal_ = c.causal || std::all_of(c.kernel_sizes.begin(), c.kernel_sizes.end(), [](int k) { return k == 1; });
    std::int64_t in = ctx.in_dim, grown = 1;
    for (int l = 0; l < c.layers; ++l, grown *= c.dilation_growth) {
      const std::int64_t d = c.dilations.empty() ? grown : c.dilations[static_cast<std::size_t>(l)];
      Layer layer;
      for (std::size_t k = 0; k < c.kernel_sizes.size(); ++k) {
        const int ks = c.kernel_sizes[k];
        const std::int64_t pad = d * (ks - 1);
        const float bound = 1.0f / std::sqrt(static_cast<float>(in * ks));  // torch.nn.Conv1d's default
        const std::string name = fmt::format("layer{}_branch{}_", l, k);
        Branch br;
        br.w = add_param(name + "weight", core::Shape{c.channels, in, ks}, nn::init::uniform(*ctx.rng, -bound, bound));
        br.b = add_param(name + "bias", core::Shape{c.channels}, nn::init::uniform(*ctx.rng, -bound, bound));
        br.opt.dilation = static_cast<int>(d);
        br.opt.channels_last = true;
        br.opt.pad_left = static_cast<int>(c.causal ? pad : pad / 2);
        br.opt.pad_right = static_cast<int>(pad) - br.opt.pad_left;
        layer.branches.push_back(std::move(br));
      }
      layer.residual = c.residual && in == width_;
      layers_.push_back(std::move(layer));
      in = width_;
    }
  }

  Var forward(const Var& x, const Tensor& mask) override {
    check_sequence("extractor/cnn", x, mask, in_dim_);
    const Var m = every_step_real(mask) ? Var() : Var(mask.reshape(core::Shape{mask.shape()[0], mask.shape()[1], 1}));
    Var h = x;  // [B, T, in]
    for (const Layer& layer : layers_) {
      const Var in = m.defined() ? h * m : h;
      std::vector<Var> ys;
      for (const Branch& br : layer.branches) ys.push_back(ops::conv1d(in, br.w, br.b, br.opt));  // [B, T, C]
      Var y = activate(ys.size() == 1 ? ys.front() : ops::concat(ys, 2), act_);                   // [B, T, C·K]
      y = ops::dropout(y, dropout_, training(), rng_);
      h = layer.residual ? y + in : y;
    }
    return m.defined() ? h * m : h;  // [B, T, C·K]
  }
  std::int64_t out_dim() const override { return width_; }
  bool causal() const override { return causal_; }

 private:
  struct Branch {
    Var w, b;
    ops::Conv1dOptions opt;
  };
  struct Layer {
    std::vector<Branch> branches;
    bool residual = false;
  };
  std::int64_t in_dim_, width_;
  bool causal_ = false;
  ops::Activation act_;
  float dropout_;
  core::Rng rng_;
  std::vector<Layer> layers_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Extractor, cnn, attnlab::plugins::CnnExtractor, attnlab::plugins::CnnConfig,
    "1-D convolutions over time: parallel kernel widths, stacked, dilated, causal (TextCNN, Caser, NextItNet)");
