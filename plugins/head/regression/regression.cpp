// head/regression: num_outputs real targets per sample (rating, dwell time) with MSE, MAE or Huber.
// Labels: f32 [B] (one target) or [B, num_outputs]; NaN marks a missing label.
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

#include <optional>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct RegressionConfig {
  std::string loss = "mse";
  double delta = 1.0;
  std::optional<std::int64_t> outputs;
  template <class V>
  void visit(V& v) {
    v("outputs", outputs).min(1).doc("targets per sample; absent: as many as the dataset reports");
    v("loss", loss).choices({"mse", "mae", "huber"}).doc("squared, absolute or Huber error");
    v("delta", delta).min(1e-6).doc("Huber threshold between the quadratic and linear parts");
  }
};

class RegressionHead : public model::Head {
 public:
  RegressionHead(const RegressionConfig& c, const Context& ctx)
      : c_(c), outputs_(c.outputs.value_or(std::max<std::int64_t>(ctx.num_outputs, 1))),
        out_(add_child("out", std::make_unique<nn::Linear>(ctx.in_dim, outputs_, true, *ctx.rng))) {}
  /// [B, in] -> predictions [B] (one target) or [B, num_outputs].
  Var forward(const Var& h) override {
    Var y = out_.forward(h);
    return outputs_ == 1 ? ops::reshape(y, core::Shape{h.shape()[0]}) : y;
  }
  Var loss(const Var& pred, const Tensor& labels) override {
    if (labels.dtype() != core::DType::f32)
      throw DTypeError("head/regression", fmt::format("labels must be f32 targets, got {} {}",
                                                      core::name_of(labels.dtype()), labels.shape().str()));
    if (labels.numel() != pred.value().numel())
      throw ShapeError("head/regression",
                       fmt::format("labels {} for predictions {}", labels.shape().str(), pred.shape().str()));
    const auto [t, w] = mask_missing(labels.reshape(pred.shape()));
    if (c_.loss == "mae") return ops::l1_loss(pred, t, w);
    if (c_.loss == "huber") return ops::huber_loss(pred, t, static_cast<float>(c_.delta), w);
    return ops::mse_loss(pred, t, w);
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kValue}; }

 private:
  RegressionConfig c_;
  std::int64_t outputs_;
  nn::Linear& out_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, regression, attnlab::plugins::RegressionHead,
                        attnlab::plugins::RegressionConfig, "real-valued targets with MSE, MAE or Huber loss");
