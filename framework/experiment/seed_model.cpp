#include "framework/experiment/seed_model.h"

#include "framework/ops/ops.h"

namespace attnlab::experiment {

using autograd::Var;

SeedModel::SeedModel(const SeedConfig& cfg, core::Rng& rng) : cfg_(cfg) {
  embed_ = &add_child("embed", std::make_unique<nn::Embedding>(cfg.vocab, cfg.embedding, -1, rng));
  lstm_ = &add_child("lstm", std::make_unique<nn::Recurrent>(nn::Cell::lstm, cfg.embedding, cfg.hidden, 1, false, rng));
  query_ = &add_child("query", std::make_unique<nn::Linear>(cfg.hidden, cfg.hidden, true, rng));
  out_ = &add_child("out", std::make_unique<nn::Linear>(cfg.seq_len * cfg.hidden, cfg.classes, true, rng));
}

Var SeedModel::forward(const core::Tensor& ids) {
  if (ids.rank() != 2 || ids.shape()[1] != cfg_.seq_len)
    throw ShapeError("seed_model", fmt::format("ids must be [B, {}], got {}", cfg_.seq_len, ids.shape().str()));
  Var x = lstm_->forward(embed_->forward(ids));                      // [B, T, H]
  Var scores = ops::matmul(query_->forward(x), x, false, true);      // [B, T, T]
  Var weights = ops::softmax(scores, -1);
  attention_ = weights.value();
  Var y = ops::matmul(weights, x);                                   // [B, T, H]
  return out_->forward(ops::flatten(y, 1));                          // [B, C]
}

}  // namespace attnlab::experiment
