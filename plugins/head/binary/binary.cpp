// head/binary: one logit per sample for a yes/no task (click, like), trained with binary
// cross-entropy on logits. Labels: f32 [B] in {0, 1} (soft labels allowed); NaN marks a missing label.
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/classification/labels.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct BinaryConfig {
  template <class V>
  void visit(V&) {}
};

class BinaryHead : public model::Head {
 public:
  BinaryHead(const BinaryConfig&, const Context& ctx)
      : out_(add_child("out", std::make_unique<nn::Linear>(ctx.in_dim, 1, true, *ctx.rng))) {}
  /// [B, in] -> logits [B].
  Var forward(const Var& h) override { return ops::reshape(out_.forward(h), core::Shape{h.shape()[0]}); }
  Var loss(const Var& logits, const Tensor& labels) override {
    if (labels.dtype() != core::DType::f32)
      throw DTypeError("head/binary", fmt::format("labels must be f32 in [0, 1], got {} {}", core::name_of(labels.dtype()),
                                                  labels.shape().str()));
    if (labels.numel() != logits.value().numel())
      throw ShapeError("head/binary", fmt::format("labels {} for logits {}", labels.shape().str(), logits.shape().str()));
    const auto [t, w] = mask_missing(labels.reshape(logits.shape()));
    return ops::bce_with_logits(logits, t, w);
  }

 private:
  nn::Linear& out_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, binary, attnlab::plugins::BinaryHead, attnlab::plugins::BinaryConfig,
                        "one logit, binary cross-entropy (click, like)");
