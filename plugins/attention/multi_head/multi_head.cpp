// attention/multi_head: multi-head scaled dot-product self-attention (Vaswani et al., 2017,
// "Attention Is All You Need", section 3.2.2), parameter for parameter torch.nn.MultiheadAttention
// (nn::MultiHeadAttention):
//
//   head_h  = softmax(q_h k_hᵀ / sqrt(D)) v_h   q_h, k_h, v_h = x W_{q,k,v,h} + b   [B, T, D], D = dim / num_heads
//   output  = concat(head_1, ..., head_H) W_oᵀ + b_o                                [B, T, dim]
//   weights [B, num_heads, T, T]; padding keys (and future keys when causal) at 0.
//
// A query with no visible key (an all-padding sequence) gets all-zero weights; its output is
// out_proj's bias (nn::masked_softmax).
#include "framework/model/families.h"
#include "framework/nn/attention.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct MultiHeadConfig {
  int num_heads = 4;
  double dropout = 0.0;
  bool causal = false;
  template <class V>
  void visit(V& v) {
    v("num_heads", num_heads).range(1, 1024).doc("number of heads; must divide the input width");
    v("dropout", dropout).range(0.0, 0.99).doc("dropout on the attention probabilities (training only)");
    v("causal", causal).doc("hide later steps: query i sees keys j <= i only");
  }
};

class MultiHeadSelfAttention : public model::Attention {
 public:
  MultiHeadSelfAttention(const MultiHeadConfig& c, const Context& ctx)
      : causal_(c.causal), mha_(add_child("mha", make(c, ctx))) {}

  Var forward(const Var& x, const Tensor& mask, const Var&) override {
    Var y = mha_.forward(x, x, x, mask, causal_);  // [B, T, dim]
    weights_ = mha_.weights();                     // [B, heads, T, T]
    return y;
  }
  std::int64_t out_dim() const override { return mha_.embed_dim(); }
  bool causal() const override { return causal_; }

 private:
  static std::unique_ptr<nn::MultiHeadAttention> make(const MultiHeadConfig& c, const Context& ctx) {
    if (ctx.dim < 1 || ctx.dim % c.num_heads != 0)
      throw config::PathError(
          "num_heads",
          fmt::format("attention/multi_head: num_heads {} does not divide the input width {}", c.num_heads, ctx.dim));
    return std::make_unique<nn::MultiHeadAttention>(ctx.dim, c.num_heads, static_cast<float>(c.dropout), *ctx.rng);
  }

  bool causal_;
  nn::MultiHeadAttention& mha_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Attention, multi_head, attnlab::plugins::MultiHeadSelfAttention, attnlab::plugins::MultiHeadConfig,
    "multi-head scaled dot-product self-attention, as torch.nn.MultiheadAttention (Vaswani et al. 2017)");
