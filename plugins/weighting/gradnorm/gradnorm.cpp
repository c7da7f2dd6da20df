// weighting/gradnorm: GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018, "GradNorm:
// Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks").
//
// Learned task weights w_t (parameter `task_weights` [T], initialised to 1). Each backward():
//   1. w <- max(w, min_weight), rescaled to sum T (written back into the parameter; weights()
//      reports the same normalisation of the current value).
//   2. Per task, backward of w_t L_t alone (retaining the graph for the next task): every parameter
//      accumulates sum_t w_t ∇L_t, the model gradient; on W = shared.back() it is also read per task:
//        G_t = ||∇_W (w_t L_t)||                                    (L2 over all of W's elements)
//   3. With L_t(0) the task losses of the first backward (buffer `initial_losses`) and
//        L~_t = L_t / L_t(0),  r_t = L~_t / mean_s L~_s,  target_t = mean_s G_s * r_t^alpha,
//      the GradNorm loss sum_t |G_t - target_t| (targets are constants) gives w's gradient
//        d/dw_t = sign(G_t - target_t) * ||∇_W L_t||
//      which is added to w's .grad: the optimizer updates w with the model. A task whose initial
//      loss is not positive and finite counts L~_t = 1.
// combine() is sum_t w_t L_t with w as constants (for logging; it never trains w).
#include "framework/registry/registry.h"
#include "plugins/weighting/common/task_losses.h"

#include <algorithm>
#include <cmath>

namespace attnlab::plugins {

struct GradNormConfig {
  double alpha = 1.5;
  double min_weight = 1e-3;
  template <class V>
  void visit(V& v) {
    v("alpha", alpha)
        .range(0, 10)
        .doc("restoring-force strength: how strongly slower tasks are pushed (0: equal gradient norms)");
    v("min_weight", min_weight)
        .range(1e-8, 1)
        .doc("floor of every task weight before the weights are rescaled to sum to T");
  }
};

class GradNormWeighting : public model::Weighting {
 public:
  GradNormWeighting(const GradNormConfig& c, const Context& ctx)
      : alpha_(c.alpha), min_weight_(c.min_weight),
        tasks_((check_weighting_context("weighting/gradnorm", ctx), ctx.tasks.size())),
        w_(add_param("task_weights", core::Shape{static_cast<std::int64_t>(tasks_)}, nn::init::ones())),
        initial_(add_buffer("initial_losses", Tensor::zeros(core::Shape{static_cast<std::int64_t>(tasks_)}))),
        started_(add_buffer("started", Tensor::zeros(core::Shape{1}, core::DType::i64))) {}

  Var combine(const std::vector<Var>& losses) override {
    check_task_losses("weighting/gradnorm", losses, tasks_);
    return weighted_sum(losses, weights());
  }

  /// Throws ShapeError for a wrong number of losses, attnlab::Error when `shared` is empty.
  void backward(const std::vector<Var>& losses, const std::vector<Var>& shared) override {
    check_task_losses("weighting/gradnorm", losses, tasks_);
    if (shared.empty())
      throw Error("weighting/gradnorm: backward needs the shared parameters (their last tensor is measured)");
    const std::vector<float> w = weights();
    w_.set_value(Tensor::from(w, w_.shape()));
    std::vector<double> loss(tasks_);
    for (std::size_t t = 0; t < tasks_; ++t) loss[t] = losses[t].value().item();
    float* l0 = initial_.f32();
    if (started_.i64()[0] == 0) {
      for (std::size_t t = 0; t < tasks_; ++t) l0[t] = static_cast<float>(loss[t]);
      started_.i64()[0] = 1;
    }

    const Var& last = shared.back();
    const Tensor kept = last.grad();
    last.zero_grad();
    Tensor sum;
    std::vector<double> norm(tasks_, 0.0), g(tasks_, 0.0);  // ||∇_W L_t||, G_t
    const std::size_t final_task = last_differentiable(losses);
    for (std::size_t t = 0; t < tasks_; ++t) {
      if (!losses[t].requires_grad()) continue;
      losses[t].backward(Tensor::full(losses[t].shape(), w[t]), t != final_task);
      if (!last.grad().defined()) continue;
      double sq = 0;
      const Tensor& gw = last.grad();
      for (std::int64_t i = 0; i < gw.numel(); ++i) sq += static_cast<double>(gw.f32()[i]) * gw.f32()[i];
      g[t] = std::sqrt(sq);
      norm[t] = g[t] / w[t];
      sum = add_grads(sum, gw);
      last.zero_grad();
    }
    set_grad(last, add_grads(kept, sum));

    std::vector<double> rel(tasks_);
    double rel_mean = 0, g_mean = 0;
    for (std::size_t t = 0; t < tasks_; ++t) {
      const double init = l0[t];
      rel[t] = init > 0 && std::isfinite(init) ? loss[t] / init : 1.0;
      rel_mean += rel[t] / static_cast<double>(tasks_);
      g_mean += g[t] / static_cast<double>(tasks_);
    }
    std::vector<float> dw(tasks_);
    for (std::size_t t = 0; t < tasks_; ++t) {
      const double r = rel_mean > 0 ? rel[t] / rel_mean : 1.0;
      const double target = g_mean * std::pow(r, alpha_);
      const double diff = g[t] - target;
      dw[t] = static_cast<float>((diff > 0 ? 1.0 : diff < 0 ? -1.0 : 0.0) * norm[t]);
    }
    set_grad(w_, add_grads(w_.grad(), Tensor::from(dw, w_.shape())));
    grad_norms_ = g;
  }

  /// max(w, min_weight) rescaled to sum T.
  std::vector<float> weights() const override {
    std::vector<float> w = w_.value().to_vector();
    double total = 0;
    for (float& x : w) total += (x = std::max(x, static_cast<float>(min_weight_)));
    for (float& x : w) x = static_cast<float>(static_cast<double>(x) * static_cast<double>(tasks_) / total);
    return w;
  }
  /// G_t of the last backward (for logging).
  const std::vector<double>& grad_norms() const { return grad_norms_; }

 private:
  double alpha_, min_weight_;
  std::size_t tasks_;
  Var& w_;
  Tensor& initial_;
  Tensor& started_;
  std::vector<double> grad_norms_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Weighting, gradnorm, attnlab::plugins::GradNormWeighting, attnlab::plugins::GradNormConfig,
    "learned task weights that balance gradient norms on the last shared tensor (Chen et al. 2018)");
