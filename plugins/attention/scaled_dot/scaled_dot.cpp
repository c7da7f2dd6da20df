// attention/scaled_dot: single-head scaled dot-product self-attention (Vaswani et al., 2017,
// "Attention Is All You Need", eq. 1).
//
//   q, k, v = x W_q, x W_k, x W_v             [B, T, d]   (d = dim_out, default the input width)
//   weights = softmax(q kᵀ / sqrt(d))         [B, T, T]   padding keys (and future keys when causal) at 0
//   output  = weights v                       [B, T, d]
//
// A query with no visible key (an all-padding sequence) gets all-zero weights and a zero output
// (nn::masked_softmax).
#include "framework/model/families.h"
#include "framework/nn/attention.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

#include <cmath>
#include <optional>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct ScaledDotConfig {
  std::optional<std::int64_t> dim_out;
  bool bias = false;
  bool causal = false;
  double dropout = 0.0;
  template <class V>
  void visit(V& v) {
    v("dim_out", dim_out)
        .range(1, 65536)
        .doc("width d of the query, key and value projections and of the output; absent: the input width");
    v("bias", bias).doc("add a bias to the three projections (the paper has none)");
    v("causal", causal).doc("hide later steps: query i sees keys j <= i only");
    v("dropout", dropout).range(0.0, 0.99).doc("dropout on the attention probabilities (training only)");
  }
};

class ScaledDotAttention : public model::Attention {
 public:
  ScaledDotAttention(const ScaledDotConfig& c, const Context& ctx)
      : dim_out_(c.dim_out.value_or(ctx.dim)), causal_(c.causal), dropout_(static_cast<float>(c.dropout)),
        rng_(*ctx.rng), query_(add_child("query", std::make_unique<nn::Linear>(ctx.dim, dim_out_, c.bias, *ctx.rng))),
        key_(add_child("key", std::make_unique<nn::Linear>(ctx.dim, dim_out_, c.bias, *ctx.rng))),
        value_(add_child("value", std::make_unique<nn::Linear>(ctx.dim, dim_out_, c.bias, *ctx.rng))) {}

  Var forward(const Var& x, const Tensor& mask, const Var&) override {
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim_out_)));
    Var scores = ops::matmul(query_.forward(x) * scale, key_.forward(x), false, true);  // [B, T, T]
    Var w = nn::masked_softmax(scores, nn::Mask{.real = mask, .causal = causal_});
    weights_ = w.value();
    if (dropout_ > 0.f) w = ops::dropout(w, dropout_, training(), rng_);
    return ops::matmul(w, value_.forward(x));  // [B, T, d]
  }
  std::int64_t out_dim() const override { return dim_out_; }
  bool causal() const override { return causal_; }

 private:
  std::int64_t dim_out_;
  bool causal_;
  float dropout_;
  core::Rng& rng_;
  nn::Linear& query_;
  nn::Linear& key_;
  nn::Linear& value_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Attention, scaled_dot, attnlab::plugins::ScaledDotAttention, attnlab::plugins::ScaledDotConfig,
    "single-head scaled dot-product self-attention, softmax(q kᵀ / sqrt(d)) v (Vaswani et al. 2017)");
