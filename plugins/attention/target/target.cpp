// attention/target: the local activation unit of DIN, Zhou et al. (2018) "Deep Interest Network
// for Click-Through Rate Prediction": the candidate item queries the user's behaviour history.
//
//   q     = query (the candidate item [B, query_dim]), times W_p [dim, query_dim] if query_dim != dim
//   a_t   = MLP([q, x_t, q - x_t, q ⊙ x_t])           hidden layers `hidden` with `activation`,
//                                                      then a linear layer to one score per step
//   w_t   = a_t ⊙ mask_t                  normalize: none (the paper: "the normalization with
//           softmax over the real steps   normalize: softmax   softmax is abandoned", section 4.3)
//   out   = Σ_t w_t x_t                                -> [B, dim]   (pools() is true)
//
// Default: normalize none, as in the paper, so the weights keep the intensity of the user's
// interest and do NOT sum to 1; the padding steps get weight exactly 0. The authors' released code
// uses a softmax of a_t / sqrt(dim) instead; normalize: softmax does that (rows without a real step
// then get zero weights, plugins/common/sequence.h). The MLP input follows that code
// ([q, k, q-k, q*k]); hidden [80, 40] with sigmoid are its defaults. The paper's Dice activation
// (batch statistics) is not offered; prelu is (PReLU, one learned slope per unit, 0.25 at start).
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"

#include <cmath>
#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct TargetConfig {
  std::vector<std::int64_t> hidden{80, 40};
  std::string activation = "sigmoid";
  std::string normalize = "none";
  template <class V>
  void visit(V& v) {
    v("hidden", hidden)
        .range(1, 65536)
        .doc("hidden widths of the activation unit's MLP (may be empty: one linear score)");
    v("activation", activation).choices({"sigmoid", "relu", "prelu"}).doc("activation of the MLP's hidden layers");
    v("normalize", normalize)
        .choices({"none", "softmax"})
        .doc(
            "none: raw scores as weights (the paper); softmax: softmax(score / sqrt(dim)) over real steps (DIN's "
            "code)");
  }
};

class TargetAttention : public model::Attention {
 public:
  TargetAttention(const TargetConfig& c, const Context& ctx)
      : dim_(ctx.dim), query_dim_(ctx.query_dim), activation_(c.activation), softmax_(c.normalize == "softmax") {
    if (ctx.query_dim <= 0)
      throw ShapeError("attention/target",
                       "needs the candidate item as its query, but the model provides none (query_dim 0)");
    if (ctx.query_dim != ctx.dim)
      query_proj_ = &add_child("query_proj", std::make_unique<nn::Linear>(ctx.query_dim, ctx.dim, false, *ctx.rng));
    std::int64_t in = 4 * ctx.dim;
    for (std::size_t i = 0; i < c.hidden.size(); ++i) {
      layers_.push_back(
          &add_child(fmt::format("layer{}", i), std::make_unique<nn::Linear>(in, c.hidden[i], true, *ctx.rng)));
      if (activation_ == "prelu")
        slopes_.push_back(add_param(fmt::format("prelu{}", i), core::Shape{c.hidden[i]}, nn::init::constant(0.25f)));
      in = c.hidden[i];
    }
    score_ = &add_child("score", std::make_unique<nn::Linear>(in, 1, true, *ctx.rng));
  }

  Var forward(const Var& x, const Tensor& mask, const Var& query) override {
    check_sequence("attention/target", x, mask, dim_);
    const std::int64_t B = x.shape()[0], T = x.shape()[1];
    check_query("attention/target", query, B, query_dim_);
    Var q = query_proj_ ? query_proj_->forward(query) : query;                // [B, dim]
    q = ops::unsqueeze(q, 1) * Var(Tensor::full(core::Shape{B, T, 1}, 1.f));  // [B, T, dim]
    Var h = ops::concat({q, x, q - x, q * x}, -1);                            // [B, T, 4 dim]
    for (std::size_t i = 0; i < layers_.size(); ++i) h = hidden(i, h);
    const Var a = ops::squeeze(score_->forward(h), -1);  // [B, T]
    Var w;
    if (softmax_)
      w = masked_softmax(a / std::sqrt(static_cast<float>(dim_)), Mask{.real = mask});
    else
      w = mask.defined() ? a * Var(mask) : a;
    weights_ = w.value();
    return weighted_sum(w, x);  // [B, dim]
  }
  std::int64_t out_dim() const override { return dim_; }
  bool pools() const override { return true; }

 private:
  Var hidden(std::size_t i, const Var& h) const {
    if (activation_ == "sigmoid") return layers_[i]->forward(h, ops::Activation::sigmoid);
    if (activation_ == "relu") return layers_[i]->forward(h, ops::Activation::relu);
    const Var z = layers_[i]->forward(h);
    return ops::relu(z) - slopes_[i] * ops::relu(-z);  // PReLU: max(0, z) + α min(0, z)
  }

  std::int64_t dim_, query_dim_;
  std::string activation_;
  bool softmax_;
  nn::Linear* query_proj_ = nullptr;
  std::vector<nn::Linear*> layers_;
  std::vector<Var> slopes_;
  nn::Linear* score_ = nullptr;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Attention, target, attnlab::plugins::TargetAttention, attnlab::plugins::TargetConfig,
    "target attention (DIN, Zhou et al. 2018): the candidate item weighs the history through an MLP");
