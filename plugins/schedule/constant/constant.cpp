// schedule/constant: the optimizer's learning rate throughout.
#include "framework/optim/schedule.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct ConstantScheduleConfig {
  template <class V>
  void visit(V&) {}
};

class ConstantSchedule : public optim::ConstantLr {
 public:
  ConstantSchedule(const ConstantScheduleConfig&, const Context& ctx) : ConstantLr(ctx.base_lr) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::LrSchedule, constant, attnlab::plugins::ConstantSchedule,
                        attnlab::plugins::ConstantScheduleConfig, "the optimizer's learning rate at every step");
