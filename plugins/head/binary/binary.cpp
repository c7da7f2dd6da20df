// head/binary: one logit per sample for a yes/no task (click, like), trained with binary
// cross-entropy on logits. Labels: f32 [B] in {0, 1} (soft labels allowed); NaN marks a missing label.
//
//   h -> [Linear + ReLU] per `hidden` width (the tower: "tower_0", "tower_1", ...) -> Linear "out" -> [B]
//
// A CTR model needs the tower (Zhou et al. 2018, DIN: an MLP over [user interest, candidate]): a
// single linear layer cannot express whether the candidate matches the history.
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct BinaryConfig {
  std::vector<std::int64_t> hidden;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden)
        .min(1)
        .doc("widths of the ReLU layers of the tower before the logit (DIN: [200, 80]); empty: linear");
  }
};

class BinaryHead : public model::Head {
 public:
  BinaryHead(const BinaryConfig& c, const Context& ctx) {
    std::int64_t width = ctx.in_dim;
    for (std::size_t l = 0; l < c.hidden.size(); ++l) {
      tower_.push_back(
          &add_child(fmt::format("tower_{}", l), std::make_unique<nn::Linear>(width, c.hidden[l], true, *ctx.rng)));
      width = c.hidden[l];
    }
    out_ = &add_child("out", std::make_unique<nn::Linear>(width, 1, true, *ctx.rng));
  }
  /// [B, in] -> logits [B].
  Var forward(const Var& h) override {
    Var x = h;
    for (const auto* layer : tower_) x = layer->forward(x, ops::Activation::relu);
    return ops::reshape(out_->forward(x), core::Shape{h.shape()[0]});
  }
  Var loss(const Var& logits, const Tensor& labels) override {
    if (labels.dtype() != core::DType::f32)
      throw DTypeError("head/binary", fmt::format("labels must be f32 in [0, 1], got {} {}",
                                                  core::name_of(labels.dtype()), labels.shape().str()));
    if (labels.numel() != logits.value().numel())
      throw ShapeError("head/binary",
                       fmt::format("labels {} for logits {}", labels.shape().str(), logits.shape().str()));
    const auto [t, w] = mask_missing(labels.reshape(logits.shape()));
    return ops::bce_with_logits(logits, t, w);
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kBinary}; }

 private:
  std::vector<nn::Linear*> tower_;
  nn::Linear* out_ = nullptr;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, binary, attnlab::plugins::BinaryHead, attnlab::plugins::BinaryConfig,
                        "one logit, binary cross-entropy (click, like)");
