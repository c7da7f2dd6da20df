// attention/additive: Bahdanau, Cho & Bengio (2015) "Neural Machine Translation by Jointly Learning
// to Align and Translate": a one-hidden-layer score network instead of a dot product.
//
//   score(q, k_j) = vᵀ tanh(W_q q + W_k k_j + b)     W_q [A, q_in], W_k [A, dim], b, v [A]
//   weights       = softmax over the allowed keys j
//   output        = Σ_j weights_j x_j                  (the values are the inputs, as in the paper)
//
// query_from: self    every step queries every step (x [B, T, dim] gives q and k):
//                     scores [B, T, T] (via a [B, T, T, A] hidden tensor), output [B, T, dim];
//                     `causal` also hides keys j > i.
// query_from: context the model's query [B, query_dim] (user or target embedding) queries the
//                     sequence once: scores [B, T], output [B, dim] (pools() is true).
// Padding keys get zero weight; a row without any allowed key gets all-zero weights and a zero
// output (plugins/common/sequence.h).
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"

#include <optional>
#include <string>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct AdditiveConfig {
  std::optional<std::int64_t> attention_dim;
  std::string query_from = "self";
  bool causal = false;
  template <class V>
  void visit(V& v) {
    v("attention_dim", attention_dim)
        .range(1, 65536)
        .doc("width A of the score network's hidden layer; absent: the input width");
    v("query_from", query_from)
        .choices({"self", "context"})
        .doc(
            "self: every step queries every step -> [B, T, dim]; context: the model's query [B, query_dim] -> [B, "
            "dim]");
    v("causal", causal).doc("self only: step i attends to steps j <= i");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (query_from == "context" && causal)
      c.fail("causal", "attention/additive: causal applies to query_from: self only");
  }
};

class AdditiveAttention : public model::Attention {
 public:
  AdditiveAttention(const AdditiveConfig& c, const Context& ctx)
      : dim_(ctx.dim), query_dim_(ctx.query_dim), context_(c.query_from == "context"), causal_(c.causal) {
    if (context_ && ctx.query_dim <= 0)
      throw ShapeError("attention/additive",
                       "query_from: context needs a query, but the model provides none (query_dim 0)");
    config::enforce(c);
    const std::int64_t a = c.attention_dim.value_or(ctx.dim);
    w_q_ = &add_child("w_q", std::make_unique<nn::Linear>(context_ ? ctx.query_dim : ctx.dim, a, false, *ctx.rng));
    w_k_ = &add_child("w_k", std::make_unique<nn::Linear>(ctx.dim, a, true, *ctx.rng));
    v_ = &add_child("v", std::make_unique<nn::Linear>(a, 1, false, *ctx.rng));
  }

  Var forward(const Var& x, const Tensor& mask, const Var& query) override {
    check_sequence("attention/additive", x, mask, dim_);
    const std::int64_t B = x.shape()[0];
    const Var k = w_k_->forward(x);  // [B, T, A]
    if (context_) {
      check_query("attention/additive", query, B, query_dim_);
      const Var e = ops::tanh(ops::unsqueeze(w_q_->forward(query), 1) + k);                // [B, T, A]
      const Var w = masked_softmax(ops::squeeze(v_->forward(e), -1), Mask{.real = mask});  // [B, T]
      weights_ = w.value();
      return weighted_sum(w, x);  // [B, dim]
    }
    const Var e = ops::tanh(ops::unsqueeze(w_q_->forward(x), 2) + ops::unsqueeze(k, 1));  // [B, T, T, A]
    const Var w = masked_softmax(ops::squeeze(v_->forward(e), -1), Mask{.real = mask, .causal = causal_});  // [B, T, T]
    weights_ = w.value();
    return ops::matmul(w, x);  // [B, T, dim]
  }
  std::int64_t out_dim() const override { return dim_; }
  bool causal() const override { return causal_ && !pools(); }
  bool pools() const override { return context_; }

 private:
  std::int64_t dim_, query_dim_;
  bool context_, causal_;
  nn::Linear* w_q_ = nullptr;
  nn::Linear* w_k_ = nullptr;
  nn::Linear* v_ = nullptr;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Attention, additive, attnlab::plugins::AdditiveAttention, attnlab::plugins::AdditiveConfig,
    "additive attention, vᵀ tanh(W_q q + W_k k) (Bahdanau et al. 2015): self or queried by the context");
