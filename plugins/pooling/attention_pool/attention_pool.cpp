#include "plugins/pooling/attention_pool/attention_pool.h"

#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"

#include <cmath>

namespace attnlab::plugins {

AttentionPooling::AttentionPooling(const AttentionPoolConfig& c, const Context& ctx) : dim_(ctx.dim) {
  config::enforce(c);
  const std::int64_t a = c.projection ? c.attention_dim.value_or(ctx.dim) : ctx.dim;
  if (c.projection) proj_ = &add_child("proj", std::make_unique<nn::Linear>(ctx.dim, a, true, *ctx.rng));
  const float bound = 1.0f / std::sqrt(static_cast<float>(a));
  query_ = add_param("query", core::Shape{a, 1}, nn::init::uniform(*ctx.rng, -bound, bound));
}

Var AttentionPooling::forward(const Var& x, const Tensor& mask) {
  check_sequence("pooling/attention_pool", x, mask, dim_);
  const Var u = proj_ ? proj_->forward(x, ops::Activation::tanh) : x;                          // [B, T, A]
  const Var w = masked_softmax(ops::squeeze(ops::matmul(u, query_), -1), Mask{.real = mask});  // [B, T]
  weights_ = w.value();
  return weighted_sum(w, x);  // [B, dim]
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Pooling, attention_pool, attnlab::plugins::AttentionPooling,
                        attnlab::plugins::AttentionPoolConfig,
                        "attention pooling with a learned query vector (HAN, Yang et al. 2016)");
