// attention/seed_self: the self-attention layer of attnlab's founding article.
//
//   query   = x W + b                      [B, T, H]
//   scores  = query · xᵀ                   [B, T, T]   (no scaling, as in the article)
//   weights = softmax(scores, last axis)   padding keys masked out
//   output  = weights · x                  [B, T, H]
#include "framework/model/families.h"
#include "framework/nn/attention.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct SeedSelfConfig {
  bool mask_padding = true;
  template <class V>
  void visit(V& v) {
    v("mask_padding", mask_padding).doc("give padding positions zero weight (the article does not mask)");
  }
};

class SeedSelfAttention : public model::Attention {
 public:
  SeedSelfAttention(const SeedSelfConfig& c, const Context& ctx)
      : mask_padding_(c.mask_padding), dim_(ctx.dim),
        query_(add_child("query", std::make_unique<nn::Linear>(ctx.dim, ctx.dim, true, *ctx.rng))) {}

  Var forward(const Var& x, const Tensor& mask, const Var&) override {
    Var scores = ops::matmul(query_.forward(x), x, false, true);  // [B, T, T]
    // Padding keys get weight 0; a row whose keys are all padding gets all-zero weights, not NaN.
    Var w =
        mask_padding_ && mask.defined() ? nn::masked_softmax(scores, nn::Mask{.real = mask}) : ops::softmax(scores, -1);
    weights_ = w.value();
    return ops::matmul(w, x);  // [B, T, H]
  }
  std::int64_t out_dim() const override { return dim_; }

 private:
  bool mask_padding_;
  std::int64_t dim_;
  nn::Linear& query_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Attention, seed_self, attnlab::plugins::SeedSelfAttention,
                        attnlab::plugins::SeedSelfConfig,
                        "the founding article's self-attention: softmax((xW + b) xᵀ) x");
