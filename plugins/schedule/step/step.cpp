// schedule/step: multiply the learning rate by gamma every step_size steps (torch StepLR).
#include "framework/optim/schedule.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct StepScheduleConfig {
  std::int64_t step_size = 1000;
  double gamma = 0.1;
  template <class V>
  void visit(V& v) {
    v("step_size", step_size).min(1).doc("steps between two decays");
    v("gamma", gamma).range(0, 1).doc("factor applied at each decay");
  }
};

class StepSchedule : public optim::StepDecayLr {
 public:
  StepSchedule(const StepScheduleConfig& c, const Context& ctx)
      : StepDecayLr(ctx.base_lr, c.step_size, static_cast<float>(c.gamma)) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::LrSchedule, step, attnlab::plugins::StepSchedule,
                        attnlab::plugins::StepScheduleConfig, "step decay: lr * gamma^(step / step_size)");
