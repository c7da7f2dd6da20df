// attention/user: personalized attention, the user's embedding as the attention query, after
// Wu et al. (2019) "NPA: Neural News Recommendation with Personalized Attention" (KDD), with a
// scaled dot-product score (Vaswani et al. 2017) in place of NPA's tanh projection of the keys.
//
//   q       = act(u W_qᵀ + b_q)          u: the query [B, query_dim] -> [B, A]   (act: query_activation)
//   k_t     = x_t W_kᵀ (+ b_k)           [B, T, A]
//   score_t = q · k_t / sqrt(A)          [B, T]
//   weights = softmax over the real steps
//   output  = Σ_t weights_t x_t          [B, dim]   (pools() is true)
//
// Padding steps get zero weight; a sequence without a real step gets all-zero weights and a zero
// output (plugins/common/sequence.h).
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"

#include <cmath>
#include <optional>
#include <string>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct UserAttentionConfig {
  std::optional<std::int64_t> attention_dim;
  std::string query_activation = "none";
  bool key_bias = false;
  template <class V>
  void visit(V& v) {
    v("attention_dim", attention_dim)
        .range(1, 65536)
        .doc("width A of the query and key projections; absent: the input width");
    v("query_activation", query_activation)
        .choices({"none", "relu", "tanh"})
        .doc("activation of the projected user query (NPA: relu)");
    v("key_bias", key_bias).doc("a bias in the key projection");
  }
};

class UserAttention : public model::Attention {
 public:
  UserAttention(const UserAttentionConfig& c, const Context& ctx) : dim_(ctx.dim), query_dim_(ctx.query_dim) {
    if (ctx.query_dim <= 0)
      throw config::PathError("type",
                              "attention/user needs the user embedding as its query, but the model provides none "
                              "(set model.query: user, on data with users)");
    const std::int64_t a = c.attention_dim.value_or(ctx.dim);
    scale_ = 1.0f / std::sqrt(static_cast<float>(a));
    if (c.query_activation == "relu") act_ = ops::Activation::relu;
    if (c.query_activation == "tanh") act_ = ops::Activation::tanh;
    w_q_ = &add_child("w_q", std::make_unique<nn::Linear>(ctx.query_dim, a, true, *ctx.rng));
    w_k_ = &add_child("w_k", std::make_unique<nn::Linear>(ctx.dim, a, c.key_bias, *ctx.rng));
  }

  Var forward(const Var& x, const Tensor& mask, const Var& query) override {
    check_sequence("attention/user", x, mask, dim_);
    check_query("attention/user", query, x.shape()[0], query_dim_);
    const Var q = ops::unsqueeze(w_q_->forward(query, act_), 2);            // [B, A, 1]
    const Var scores = ops::squeeze(ops::matmul(w_k_->forward(x), q), -1);  // [B, T]
    const Var w = masked_softmax(scores * scale_, Mask{.real = mask});      // [B, T]
    weights_ = w.value();
    return weighted_sum(w, x);  // [B, dim]
  }
  std::int64_t out_dim() const override { return dim_; }
  bool pools() const override { return true; }

 private:
  std::int64_t dim_, query_dim_;
  float scale_ = 1.f;
  ops::Activation act_ = ops::Activation::none;
  nn::Linear* w_q_ = nullptr;
  nn::Linear* w_k_ = nullptr;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Attention, user, attnlab::plugins::UserAttention, attnlab::plugins::UserAttentionConfig,
    "personalized attention: the user embedding queries the history, softmax(q·k/sqrt(A)) (NPA, Wu et al. 2019)");
