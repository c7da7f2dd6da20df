// weighting/pcgrad: projecting conflicting gradients (Yu et al., NeurIPS 2020, "Gradient Surgery
// for Multi-Task Learning"). Every task weighs 1. In backward(), with g_t the gradient of L_t with
// respect to all shared parameters (flattened into one vector):
//
//   for each task i:  g'_i = g_i; for each other task j in a random order (drawn from the
//                     context Rng, a new order per i and per call):
//                       if g'_i · g_j < 0:  g'_i -= (g'_i · g_j) / ||g_j||² g_j     (the ORIGINAL g_j)
//   shared .grad += sum_i g'_i
//
// Parameters outside `shared` get their plain summed gradients sum_t ∇L_t. The per-task gradients
// come from one backward per loss through the same graph (retained for all but the last). With no
// shared parameters, backward is the plain sum of the losses.
#include "framework/registry/registry.h"
#include "plugins/weighting/common/task_losses.h"

namespace attnlab::plugins {

struct PcGradConfig {
  template <class V>
  void visit(V&) {}
};

class PcGradWeighting : public model::Weighting {
 public:
  /// Throws attnlab::Error for a context without tasks or Rng.
  PcGradWeighting(const PcGradConfig&, const Context& ctx) : tasks_(ctx.tasks.size()), rng_(ctx.rng) {
    check_weighting_context("weighting/pcgrad", ctx);
    if (!rng_) throw Error("weighting/pcgrad: the context has no Rng (task orders are random)");
  }

  Var combine(const std::vector<Var>& losses) override {
    check_task_losses("weighting/pcgrad", losses, tasks_);
    return weighted_sum(losses, weights());
  }

  void backward(const std::vector<Var>& losses, const std::vector<Var>& shared) override {
    check_task_losses("weighting/pcgrad", losses, tasks_);
    if (shared.empty()) {
      combine(losses).backward();
      return;
    }
    std::vector<Tensor> kept;
    std::vector<std::int64_t> offset{0};
    for (const Var& p : shared) {
      kept.push_back(p.grad());
      p.zero_grad();
      offset.push_back(offset.back() + p.value().numel());
    }
    const auto n = static_cast<std::size_t>(offset.back());
    std::vector<std::vector<double>> g(tasks_, std::vector<double>(n, 0.0));
    const std::size_t final_task = last_differentiable(losses);
    for (std::size_t t = 0; t < tasks_; ++t) {
      if (!losses[t].requires_grad()) continue;
      losses[t].backward(Tensor::full(losses[t].shape(), 1.f), t != final_task);
      for (std::size_t p = 0; p < shared.size(); ++p) {
        if (!shared[p].grad().defined()) continue;
        const float* src = shared[p].grad().f32();
        std::copy(src, src + shared[p].value().numel(), g[t].begin() + offset[p]);
        shared[p].zero_grad();
      }
    }

    std::vector<double> sq(tasks_, 0.0);
    for (std::size_t t = 0; t < tasks_; ++t)
      for (double x : g[t]) sq[t] += x * x;
    std::vector<double> total(n, 0.0);
    for (std::size_t i = 0; i < tasks_; ++i) {
      std::vector<double> pc = g[i];
      for (std::size_t j : shuffled_others(i)) {
        if (sq[j] == 0.0) continue;
        double dot = 0;
        for (std::size_t k = 0; k < n; ++k) dot += pc[k] * g[j][k];
        if (dot >= 0) continue;
        const double scale = dot / sq[j];
        for (std::size_t k = 0; k < n; ++k) pc[k] -= scale * g[j][k];
      }
      for (std::size_t k = 0; k < n; ++k) total[k] += pc[k];
    }
    for (std::size_t p = 0; p < shared.size(); ++p) {
      Tensor out = Tensor::empty(shared[p].shape());
      float* dst = out.f32();
      for (std::int64_t k = 0; k < out.numel(); ++k)
        dst[k] = static_cast<float>(total[static_cast<std::size_t>(offset[p] + k)]);
      set_grad(shared[p], add_grads(kept[p], out));
    }
  }

  std::vector<float> weights() const override { return std::vector<float>(tasks_, 1.f); }

 private:
  std::vector<std::size_t> shuffled_others(std::size_t i) {
    std::vector<std::size_t> order;
    for (std::size_t j = 0; j < tasks_; ++j)
      if (j != i) order.push_back(j);
    for (std::size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[rng_->below(k)]);
    return order;
  }

  std::size_t tasks_;
  core::Rng* rng_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Weighting, pcgrad, attnlab::plugins::PcGradWeighting, attnlab::plugins::PcGradConfig,
    "gradient surgery: per-task gradients of the shared parameters projected off conflicting tasks (Yu et al. 2020)");
