// weighting/fixed: L = sum_t w_t L_t with constant weights from the config (all 1 by default).
#include "framework/registry/registry.h"
#include "plugins/weighting/common/task_losses.h"

namespace attnlab::plugins {

struct FixedWeightingConfig {
  std::vector<float> weights;
  template <class V>
  void visit(V& v) {
    v("weights", weights).min(0).doc("one weight per task, in task order; empty: every weight is 1");
  }
};

class FixedWeighting : public model::Weighting {
 public:
  /// Throws attnlab::Error when the weights are neither empty nor one per task.
  FixedWeighting(const FixedWeightingConfig& c, const Context& ctx) : w_(c.weights) {
    check_weighting_context("weighting/fixed", ctx);
    if (w_.empty()) w_.assign(ctx.tasks.size(), 1.f);
    if (w_.size() != ctx.tasks.size())
      throw Error(fmt::format("weighting/fixed: {} weights for {} tasks ({})", w_.size(), ctx.tasks.size(),
                              fmt::join(ctx.tasks, ", ")));
  }
  Var combine(const std::vector<Var>& losses) override {
    check_task_losses("weighting/fixed", losses, w_.size());
    return weighted_sum(losses, w_);
  }
  std::vector<float> weights() const override { return w_; }

 private:
  std::vector<float> w_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Weighting, fixed, attnlab::plugins::FixedWeighting,
                        attnlab::plugins::FixedWeightingConfig, "constant task weights from the config: sum_t w_t L_t");
