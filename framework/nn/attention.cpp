#include "framework/nn/attention.h"

#include "framework/ops/ops.h"

#include <cmath>
#include <limits>

namespace attnlab::nn {
namespace {

using core::Shape;
using core::Tensor;

std::int64_t checked_heads(std::int64_t embed_dim, std::int64_t num_heads) {
  if (embed_dim < 1 || num_heads < 1 || embed_dim % num_heads != 0)
    throw ShapeError("multi_head_attention",
                     fmt::format("num_heads {} must divide embed_dim {} (both >= 1)", num_heads, embed_dim));
  return num_heads;
}

float checked_dropout(float p) {
  if (!(p >= 0.f && p < 1.f)) throw Error(fmt::format("multi_head_attention: dropout {} is not in [0, 1)", p));
  return p;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout, core::Rng& rng)
    : embed_dim_(embed_dim), num_heads_(checked_heads(embed_dim, num_heads)), dropout_(checked_dropout(dropout)),
      rng_(rng), in_w_(add_param("in_proj_weight", Shape{3 * embed_dim, embed_dim}, init::xavier_uniform(rng))),
      in_b_(add_param("in_proj_bias", Shape{3 * embed_dim}, init::zeros())),
      out_proj_(add_child("out_proj", std::make_unique<Linear>(embed_dim, embed_dim, true, rng))) {
  Tensor b = out_proj_.bias().value();
  b.zero_();  // PyTorch zeroes out_proj.bias after nn.Linear's initialisation
}

Var MultiHeadAttention::forward(const Var& query, const Var& key, const Var& value, const Tensor& key_mask,
                                bool causal) {
  const std::int64_t E = embed_dim_, H = num_heads_, D = head_dim();
  const Shape& qs = query.shape();
  const Shape& ks = key.shape();
  const Shape& vs = value.shape();
  if (qs.rank() != 3 || ks.rank() != 3 || vs.rank() != 3 || qs[2] != E || ks[2] != E || ks != vs || qs[0] != ks[0])
    throw ShapeError(
        "multi_head_attention",
        fmt::format("expected query [B, Tq, {0}], key and value [B, Tk, {0}]; got query {1}, key {2}, value {3}", E,
                    qs.str(), ks.str(), vs.str()));
  const std::int64_t B = qs[0], Tq = qs[1], Tk = ks[1];
  auto split_heads = [&](const Var& x, std::int64_t T) {  // [B, T, E] -> [B, H, T, D]
    return ops::permute(ops::reshape(x, Shape{B, T, H, D}), {0, 2, 1, 3});
  };
  Var q, k, v;
  if (query.node() == key.node() && key.node() == value.node()) {
    Var qkv = ops::linear(query, in_w_, in_b_);                                            // [B, T, 3E]
    Var packed = ops::permute(ops::reshape(qkv, Shape{B, Tq, 3, H, D}), {2, 0, 3, 1, 4});  // [3, B, H, T, D]
    auto part = [&](std::int64_t i) { return ops::squeeze(ops::slice(packed, 0, i, i + 1), 0); };
    q = part(0), k = part(1), v = part(2);
  } else {
    auto project = [&](const Var& x, std::int64_t i, std::int64_t T) {
      return split_heads(
          ops::linear(x, ops::slice(in_w_, 0, i * E, (i + 1) * E), ops::slice(in_b_, 0, i * E, (i + 1) * E)), T);
    };
    q = project(query, 0, Tq), k = project(key, 1, Tk), v = project(value, 2, Tk);
  }
  // Scaling q (Tq x D elements) is cheaper than scaling the scores (Tq x Tk).
  Var scores =
      ops::matmul(q * static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))), k, false, true);  // [B, H, Tq, Tk]
  Var w = masked_softmax(scores, Mask{.real = key_mask, .causal = causal});
  weights_ = w.value();
  if (dropout_ > 0.f) w = ops::dropout(w, dropout_, training(), rng_);
  Var ctx = ops::reshape(ops::permute(ops::matmul(w, v), {0, 2, 1, 3}), Shape{B, Tq, E});  // [B, Tq, E]
  return out_proj_.forward(ctx);
}

}  // namespace attnlab::nn
