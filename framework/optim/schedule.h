// Learning-rate schedules: pure functions from the step count to a learning rate.
//
// `step` is the number of optimizer steps already taken, so the first update uses lr(0):
//   opt.set_lr(schedule.lr(opt.steps())); opt.step();
// Schedules hold no mutable state (nothing to checkpoint: the optimizer's step count is enough) and
// may be shared between threads. Every lr(step) throws attnlab::Error for step < 0.
#pragma once

#include <cstdint>
#include <memory>

namespace attnlab::optim {

class LrSchedule {
 public:
  /// The plugin family (framework/registry): schedules are built from a spec's train.schedule.
  static constexpr const char* kFamily = "schedule";
  struct Context {
    float base_lr = 0.0f;          // the optimizer's lr
    std::int64_t total_steps = 0;  // steps in the whole run (epochs x batches per epoch)
  };
  virtual ~LrSchedule() = default;
  virtual float lr(std::int64_t step) const = 0;
};

/// lr(t) = base_lr.
class ConstantLr : public LrSchedule {
 public:
  /// Throws attnlab::Error unless base_lr is finite and >= 0 (as do all constructors below).
  explicit ConstantLr(float base_lr);
  float lr(std::int64_t step) const override;

 private:
  float base_;
};

/// lr(t) = base_lr * gamma^floor(t / step_size)   (PyTorch's StepLR).
class StepDecayLr : public LrSchedule {
 public:
  /// Throws attnlab::Error unless step_size > 0 and gamma > 0.
  StepDecayLr(float base_lr, std::int64_t step_size, float gamma);
  float lr(std::int64_t step) const override;

 private:
  float base_;
  std::int64_t step_size_;
  double gamma_;
};

/// lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2 for t <= total_steps,
/// and min_lr afterwards (PyTorch's CosineAnnealingLR with T_max = total_steps, eta_min = min_lr,
/// except that PyTorch's cosine rises again after T_max).
class CosineLr : public LrSchedule {
 public:
  /// Throws attnlab::Error unless total_steps > 0 and min_lr is finite and >= 0.
  CosineLr(float base_lr, std::int64_t total_steps, float min_lr = 0.0f);
  float lr(std::int64_t step) const override;

 private:
  float base_;
  std::int64_t total_;
  float min_;
};

/// A linear warmup in front of another schedule `after`:
///   t <  warmup_steps:  after.lr(0) * (start_factor + (1 - start_factor) * t / warmup_steps)
///   t >= warmup_steps:  after.lr(t - warmup_steps)
/// i.e. PyTorch's LinearLR(start_factor, end_factor = 1, total_iters = warmup_steps) followed by
/// `after` through SequentialLR(milestones = [warmup_steps]): `after` starts counting when the
/// warmup ends, so a cosine behind it spans total_steps - warmup_steps. The default start_factor 0
/// ramps from 0 (lr(0) = 0; PyTorch's LinearLR requires start_factor > 0).
class WarmupLr : public LrSchedule {
 public:
  /// Throws attnlab::Error for a null `after`, warmup_steps < 0 or start_factor outside [0, 1].
  WarmupLr(std::shared_ptr<const LrSchedule> after, std::int64_t warmup_steps, float start_factor = 0.0f);
  float lr(std::int64_t step) const override;

 private:
  std::shared_ptr<const LrSchedule> after_;
  std::int64_t warmup_;
  double start_;
};

}  // namespace attnlab::optim
