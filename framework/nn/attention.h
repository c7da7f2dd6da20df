// Dot-product attention layers built from framework ops (Vaswani et al., 2017, "Attention Is All
// You Need"): the masked softmax they share, and multi-head attention with PyTorch's parameters.
//
//   scores  = (q / sqrt(d)) kᵀ            [B, heads, Tq, Tk]
//   weights = softmax over keys, with padding keys (and, when causal, future keys) masked out
//   output  = concat_heads(weights v) W_oᵀ + b_o
//
// Masks follow the plugin convention: key_mask is f32 [B, Tk] with 1 (any non-zero) for a real
// key and 0 for padding. Causal masking hides key j from query i when j > i (top-left aligned
// when Tq != Tk).
//
// The masked softmax is nn/masking.h's: a query without any visible key (an all-padding sequence,
// or a left-padded sequence under a causal mask) gets all-zero weights, never NaN, so multi-head
// attention returns out_proj's bias there and no gradient flows through it.
#pragma once

#include "framework/core/rng.h"
#include "framework/nn/layers.h"
#include "framework/nn/masking.h"

namespace attnlab::nn {

using autograd::Var;

/// Multi-head attention, parameter for parameter torch.nn.MultiheadAttention(embed_dim, num_heads,
/// dropout, bias=True, batch_first=True) with kdim = vdim = embed_dim. With E = embed_dim,
/// H = num_heads, D = E / H:
///   in_proj_weight [3E, E]   rows [0, E) project queries, [E, 2E) keys, [2E, 3E) values
///   in_proj_bias   [3E]
///   out_proj       nn::Linear E -> E ("out_proj.weight" [E, E], "out_proj.bias" [E])
/// so a PyTorch state_dict loads by name (Module::load_state). Initialisation as PyTorch:
/// in_proj_weight xavier_uniform, both biases 0, out_proj.weight U(-1/sqrt(E), 1/sqrt(E)).
///
/// forward(query [B, Tq, E], key [B, Tk, E], value [B, Tk, E], key_mask f32 [B, Tk], causal)
///   q, k, v = split_heads(x W_iᵀ + b_i)                 [B, H, T, D]
///   weights = masked_softmax((q / sqrt(D)) kᵀ, key_mask, causal)   [B, H, Tq, Tk]
///   output  = merge_heads(dropout(weights) v) W_oᵀ + b_o            [B, Tq, E]
/// When query, key and value are the same Var (self-attention) the three projections run as one
/// product with the packed [3E, E] weight. Dropout (probability `dropout`, only in training mode)
/// applies to the attention probabilities and draws from the Rng given at construction, which
/// must outlive the module.
///
/// weights() is the [B, H, Tq, Tk] probabilities of the last forward, before dropout (PyTorch
/// returns them after dropout, averaged over heads by default).
class MultiHeadAttention : public Module {
 public:
  /// Throws ShapeError ("multi_head_attention") unless embed_dim >= 1, num_heads >= 1 and
  /// num_heads divides embed_dim (the message names both); attnlab::Error for a dropout outside
  /// [0, 1). `rng` initialises the parameters and later draws the dropout masks.
  MultiHeadAttention(std::int64_t embed_dim, std::int64_t num_heads, float dropout, core::Rng& rng);

  /// See the class comment. Throws ShapeError ("multi_head_attention", naming every shape) unless
  /// query is [B, Tq, E] and key and value are [B, Tk, E] with the same B; masked_softmax's errors
  /// for a bad key_mask.
  Var forward(const Var& query, const Var& key, const Var& value, const core::Tensor& key_mask = {},
              bool causal = false);

  /// The attention probabilities of the last forward, [B, H, Tq, Tk] (undefined before the first).
  const core::Tensor& weights() const { return weights_; }
  std::int64_t embed_dim() const { return embed_dim_; }
  std::int64_t num_heads() const { return num_heads_; }
  std::int64_t head_dim() const { return embed_dim_ / num_heads_; }

 private:
  std::int64_t embed_dim_, num_heads_;
  float dropout_;
  core::Rng& rng_;
  Var in_w_, in_b_;
  Linear& out_proj_;
  core::Tensor weights_;
};

}  // namespace attnlab::nn
