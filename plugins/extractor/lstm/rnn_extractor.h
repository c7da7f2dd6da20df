// extractor/lstm and extractor/gru: stacks of recurrent layers on oneDNN's RNN primitives.
#pragma once

#include "framework/model/families.h"
#include "framework/nn/layers.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct RnnExtractorConfig {
  std::int64_t hidden = 128;
  int layers = 1;
  bool bidirectional = false;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden).min(1).doc("state width of each direction");
    v("layers", layers).range(1, 16).doc("stacked recurrent layers");
    v("bidirectional", bidirectional).doc("also run right to left and concatenate both directions");
  }
};

/// x [B, T, in] -> [B, T, hidden * (bidirectional ? 2 : 1)]. The mask is not applied inside the
/// recurrence (sequences are left-padded by the data pipeline, so the last steps are real).
template <nn::Cell kCell>
class RnnExtractor : public model::Extractor {
 public:
  RnnExtractor(const RnnExtractorConfig& c, const Context& ctx)
      : rnn_(add_child(
            "rnn", std::make_unique<nn::Recurrent>(kCell, ctx.in_dim, c.hidden, c.layers, c.bidirectional, *ctx.rng))),
        causal_(!c.bidirectional) {}
  Var forward(const Var& x, const Tensor&) override { return rnn_.forward(x); }
  std::int64_t out_dim() const override { return rnn_.out_dim(); }
  bool causal() const override { return causal_; }

 private:
  nn::Recurrent& rnn_;
  bool causal_;
};

}  // namespace attnlab::plugins
