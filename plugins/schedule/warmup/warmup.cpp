// schedule/warmup: linear warm-up from start_factor * lr to lr, then another schedule (torch LinearLR + SequentialLR).
#include "framework/optim/schedule.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct WarmupScheduleConfig {
  std::int64_t warmup_steps = 1000;
  double start_factor = 0.0;
  config::PluginSpec<optim::LrSchedule> after{"constant"};
  template <class V>
  void visit(V& v) {
    v("warmup_steps", warmup_steps).min(1).doc("steps of the linear warm-up");
    v("start_factor", start_factor).range(0, 1).doc("fraction of the learning rate at step 0");
    v("after", after).doc("the schedule that follows the warm-up (its step count starts after the warm-up)");
  }
};

class WarmupSchedule : public optim::WarmupLr {
 public:
  WarmupSchedule(const WarmupScheduleConfig& c, const Context& ctx)
      : WarmupLr(registry::create(c.after, ctx), c.warmup_steps, static_cast<float>(c.start_factor)) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::LrSchedule, warmup, attnlab::plugins::WarmupSchedule,
                        attnlab::plugins::WarmupScheduleConfig, "linear warm-up, then another schedule");
