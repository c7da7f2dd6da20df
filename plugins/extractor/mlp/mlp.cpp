// extractor/mlp: the same feed-forward network applied at every step, for tabular or per-event
// features (the "embedding & MLP" base of Covington et al. 2016 "Deep Neural Networks for YouTube
// Recommendations", here per step rather than on a pooled vector).
//
//   h_0 = x                                          [B, T, in]
//   h_i = act(h_{i-1} W_iᵀ + b_i)                    [B, T, hidden[i]]
//   dropout after every layer but the last (training only); no activation on the last layer when
//   activate_last is false.                          -> [B, T, hidden.back()]
//
// Steps never mix, so padding cannot reach a real step; the mask is only checked, and padding steps
// keep the network's output for whatever they contain.
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"
#include "plugins/extractor/common/activation.h"

#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct MlpConfig {
  std::vector<std::int64_t> hidden{64};
  std::string activation = "relu";
  bool activate_last = true;
  double dropout = 0.0;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden)
        .range(1, 65536)
        .doc("width of each layer, in order (at least one); the last is the output width");
    v("activation", activation).choices({"relu", "gelu", "tanh", "sigmoid"}).doc("activation after each layer");
    v("activate_last", activate_last).doc("apply the activation after the last layer too");
    v("dropout", dropout).range(0.0, 0.99).doc("dropout after every layer but the last (training only)");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (hidden.empty()) c.fail("hidden", "extractor/mlp: hidden must hold at least one layer width");
  }
};

class MlpExtractor : public model::Extractor {
 public:
  MlpExtractor(const MlpConfig& c, const Context& ctx)
      : in_dim_(ctx.in_dim), act_(activation_of(c.activation)), activate_last_(c.activate_last),
        dropout_(static_cast<float>(c.dropout)), rng_(ctx.rng->next_u64()) {
    config::enforce(c);
    std::int64_t in = ctx.in_dim;
    for (std::size_t i = 0; i < c.hidden.size(); ++i) {
      layers_.push_back(
          &add_child(fmt::format("layer{}", i), std::make_unique<nn::Linear>(in, c.hidden[i], true, *ctx.rng)));
      in = c.hidden[i];
    }
    out_dim_ = in;
  }

  Var forward(const Var& x, const Tensor& mask) override {
    check_sequence("extractor/mlp", x, mask, in_dim_);
    Var h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const bool last = i + 1 == layers_.size();
      h = layers_[i]->forward(h, last && !activate_last_ ? ops::Activation::none : act_);
      if (!last) h = ops::dropout(h, dropout_, training(), rng_);
    }
    return h;
  }
  std::int64_t out_dim() const override { return out_dim_; }
  bool causal() const override { return true; }  // steps never mix

 private:
  std::int64_t in_dim_, out_dim_ = 0;
  ops::Activation act_;
  bool activate_last_;
  float dropout_;
  core::Rng rng_;
  std::vector<nn::Linear*> layers_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Extractor, mlp, attnlab::plugins::MlpExtractor, attnlab::plugins::MlpConfig,
                        "a per-step MLP: [B, T, in] -> [B, T, hidden[-1]]");
