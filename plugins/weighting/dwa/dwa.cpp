// weighting/dwa: Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019, "End-to-End Multi-Task
// Learning with Attention"). With L_t(e) the mean loss of task t in epoch e (from end_epoch):
//
//   r_t = L_t(e-1) / L_t(e-2)          w_t = T exp(r_t / temperature) / sum_s exp(r_s / temperature)
//   L   = sum_t w_t L_t                (the weights are constants: no gradient flows to them)
//
// w_t = 1 until two epochs have ended. A ratio whose denominator is not positive and finite, or
// that is not finite itself, counts as 1. The last two epochs' losses are the buffer `history`
// [2, T] (row 0: e-2, row 1: e-1) and the number of ended epochs the buffer `epochs` (i64 [1]).
#include "framework/registry/registry.h"
#include "plugins/weighting/common/task_losses.h"

#include <algorithm>
#include <cmath>

namespace attnlab::plugins {

struct DwaConfig {
  double temperature = 2.0;
  template <class V>
  void visit(V& v) {
    v("temperature", temperature)
        .min(1e-3)
        .doc("softmax temperature of the loss ratios (higher: more uniform weights)");
  }
};

class DwaWeighting : public model::Weighting {
 public:
  DwaWeighting(const DwaConfig& c, const Context& ctx)
      : temperature_(c.temperature), tasks_((check_weighting_context("weighting/dwa", ctx), ctx.tasks.size())),
        history_(add_buffer("history", Tensor::zeros(core::Shape{2, static_cast<std::int64_t>(tasks_)}))),
        epochs_(add_buffer("epochs", Tensor::zeros(core::Shape{1}, core::DType::i64))) {}

  Var combine(const std::vector<Var>& losses) override {
    check_task_losses("weighting/dwa", losses, tasks_);
    return weighted_sum(losses, weights());
  }
  /// Throws ShapeError unless there is one loss per task.
  void end_epoch(const std::vector<double>& task_losses) override {
    check_task_values("weighting/dwa", task_losses, tasks_);
    float* h = history_.f32();
    for (std::size_t t = 0; t < tasks_; ++t) {
      h[t] = h[tasks_ + t];
      h[tasks_ + t] = static_cast<float>(task_losses[t]);
    }
    epochs_.i64()[0] += 1;
  }
  std::vector<float> weights() const override {
    std::vector<float> w(tasks_, 1.f);
    if (epochs_.i64()[0] < 2) return w;
    const float* h = history_.f32();
    std::vector<double> z(tasks_);
    for (std::size_t t = 0; t < tasks_; ++t) {
      const double prev2 = h[t], prev = h[tasks_ + t];
      double r = prev / prev2;
      if (!(prev2 > 0 && std::isfinite(prev2) && std::isfinite(r))) r = 1.0;
      z[t] = r / temperature_;
    }
    const double top = *std::max_element(z.begin(), z.end());
    double total = 0;
    for (double& x : z) total += (x = std::exp(x - top));
    for (std::size_t t = 0; t < tasks_; ++t) w[t] = static_cast<float>(static_cast<double>(tasks_) * z[t] / total);
    return w;
  }

 private:
  double temperature_;
  std::size_t tasks_;
  Tensor& history_;
  Tensor& epochs_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Weighting, dwa, attnlab::plugins::DwaWeighting, attnlab::plugins::DwaConfig,
                        "dynamic weight average: T softmax of the last two epochs' loss ratios (Liu et al. 2019)");
