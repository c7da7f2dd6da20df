// weighting/uncertainty: homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018,
// "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene Geometry and Semantics").
// With a learned log-variance s_t per task (parameter `log_vars` [T], initialised to init_log_var):
//
//   L = sum_t exp(-s_t) L_t + s_t            dL/ds_t = 1 - exp(-s_t) L_t
//
// This is the regression form 1/(2σ²) L_t + log σ with s = log σ², multiplied by 2 (the 1/2
// factors dropped: same optimum, gradients twice as large), used for every task alike.
// weights() = exp(-s_t).
#include "framework/registry/registry.h"
#include "plugins/weighting/common/task_losses.h"

#include <cmath>

namespace attnlab::plugins {

struct UncertaintyConfig {
  double init_log_var = 0.0;
  template <class V>
  void visit(V& v) {
    v("init_log_var", init_log_var).range(-10, 10).doc("initial log-variance s_t of every task (weight exp(-s_t))");
  }
};

class UncertaintyWeighting : public model::Weighting {
 public:
  UncertaintyWeighting(const UncertaintyConfig& c, const Context& ctx) {
    check_weighting_context("weighting/uncertainty", ctx);
    s_ = add_param("log_vars", core::Shape{static_cast<std::int64_t>(ctx.tasks.size())},
                   nn::init::constant(static_cast<float>(c.init_log_var)));
  }
  Var combine(const std::vector<Var>& losses) override {
    check_task_losses("weighting/uncertainty", losses, static_cast<std::size_t>(s_.shape()[0]));
    return ops::sum_all(ops::exp(-s_) * stack_losses(losses) + s_);
  }
  std::vector<float> weights() const override {
    std::vector<float> w = s_.value().to_vector();
    for (float& x : w) x = std::exp(-x);
    return w;
  }

 private:
  Var s_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Weighting, uncertainty, attnlab::plugins::UncertaintyWeighting,
                        attnlab::plugins::UncertaintyConfig,
                        "learned log-variances: sum_t exp(-s_t) L_t + s_t (Kendall et al. 2018)");
