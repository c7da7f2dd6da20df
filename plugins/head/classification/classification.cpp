// head/classification: a linear layer to class logits, trained with softmax cross-entropy.
// Labels: i64 class ids [B]; a negative id marks a missing label (masked out of the loss).
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct ClassificationConfig {
  double label_smoothing = 0.0;
  template <class V>
  void visit(V& v) {
    v("label_smoothing", label_smoothing)
        .range(0, 1)
        .doc("mass spread uniformly over the classes (Szegedy et al. 2016)");
  }
};

class ClassificationHead : public model::Head {
 public:
  ClassificationHead(const ClassificationConfig& c, const Context& ctx)
      : smoothing_(static_cast<float>(c.label_smoothing)),
        out_(add_child("out", std::make_unique<nn::Linear>(ctx.in_dim, ctx.num_outputs, true, *ctx.rng))) {}
  Var forward(const Var& h) override { return out_.forward(h); }
  Var loss(const Var& logits, const Tensor& labels) override {
    return ops::softmax_cross_entropy(logits, ignore_negative(labels, -100), -100, smoothing_);
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kClass}; }

 private:
  float smoothing_;
  nn::Linear& out_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, classification, attnlab::plugins::ClassificationHead,
                        attnlab::plugins::ClassificationConfig, "class logits with softmax cross-entropy");
