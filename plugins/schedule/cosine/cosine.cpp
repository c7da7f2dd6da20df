// schedule/cosine: cosine annealing from the optimizer's lr to min_lr over the run (torch CosineAnnealingLR).
#include "framework/optim/schedule.h"
#include "framework/registry/registry.h"

#include <optional>

namespace attnlab::plugins {

struct CosineScheduleConfig {
  double min_lr = 0.0;
  std::optional<std::int64_t> total_steps;
  template <class V>
  void visit(V& v) {
    v("min_lr", min_lr).min(0).doc("learning rate at the end of the annealing");
    v("total_steps", total_steps).min(1).doc("steps of the annealing; absent: the whole run");
  }
};

class CosineSchedule : public optim::CosineLr {
 public:
  CosineSchedule(const CosineScheduleConfig& c, const Context& ctx)
      : CosineLr(ctx.base_lr, c.total_steps.value_or(std::max<std::int64_t>(ctx.total_steps, 1)),
                 static_cast<float>(c.min_lr)) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::LrSchedule, cosine, attnlab::plugins::CosineSchedule,
                        attnlab::plugins::CosineScheduleConfig, "cosine annealing to min_lr");
