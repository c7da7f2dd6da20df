// The founding article's model, built from framework ops:
//
//   ids [B, T] -> Embedding(vocab, E) -> LSTM(H, every step)          [B, T, H]
//             -> self-attention: q = xW + b                            [B, T, H]
//                                scores = q xᵀ, softmax on the last axis [B, T, T]
//                                y = weights · x                       [B, T, H]
//             -> flatten                                               [B, T*H]
//             -> linear                                                [B, C] logits
//
// trained with softmax cross-entropy and Adam. It is the demo of the engine, the subject of the
// seed-model benchmark, and (with the plugin registry) one preset among many.
#pragma once

#include "framework/nn/layers.h"

namespace attnlab::experiment {

struct SeedConfig {
  std::int64_t vocab = 5000;
  std::int64_t embedding = 64;
  std::int64_t hidden = 128;
  std::int64_t seq_len = 50;
  std::int64_t classes = 1000;
};

class SeedModel : public nn::Module {
 public:
  SeedModel(const SeedConfig& cfg, core::Rng& rng);

  /// ids i64 [B, seq_len] -> logits [B, classes]. Throws ShapeError for another sequence length.
  autograd::Var forward(const core::Tensor& ids);
  /// The attention weights [B, T, T] of the last forward (row t: how position t attends to every position).
  const core::Tensor& last_attention() const { return attention_; }
  const SeedConfig& config() const { return cfg_; }

 private:
  SeedConfig cfg_;
  nn::Embedding* embed_;
  nn::Recurrent* lstm_;
  nn::Linear* query_;
  nn::Linear* out_;
  core::Tensor attention_;
};

}  // namespace attnlab::experiment
