#include "framework/optim/schedule.h"

#include "framework/core/error.h"

#include <cmath>
#include <numbers>

namespace attnlab::optim {
namespace {

float checked_lr(const char* what, float lr) {
  if (!(lr >= 0.0f) || !std::isfinite(lr))
    throw Error(fmt::format("{}: learning rate must be finite and >= 0, got {}", what, lr));
  return lr;
}

void check_step(const char* what, std::int64_t step) {
  if (step < 0) throw Error(fmt::format("{}: lr() of a negative step {}", what, step));
}

}  // namespace

ConstantLr::ConstantLr(float base_lr) : base_(checked_lr("constant_lr", base_lr)) {}

float ConstantLr::lr(std::int64_t step) const {
  check_step("constant_lr", step);
  return base_;
}

StepDecayLr::StepDecayLr(float base_lr, std::int64_t step_size, float gamma)
    : base_(checked_lr("step_decay_lr", base_lr)), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw Error(fmt::format("step_decay_lr: step_size must be > 0, got {}", step_size));
  if (!(gamma > 0.0f) || !std::isfinite(gamma))
    throw Error(fmt::format("step_decay_lr: gamma must be > 0, got {}", gamma));
}

float StepDecayLr::lr(std::int64_t step) const {
  check_step("step_decay_lr", step);
  return static_cast<float>(base_ * std::pow(gamma_, static_cast<double>(step / step_size_)));
}

CosineLr::CosineLr(float base_lr, std::int64_t total_steps, float min_lr)
    : base_(checked_lr("cosine_lr", base_lr)), total_(total_steps), min_(checked_lr("cosine_lr", min_lr)) {
  if (total_steps <= 0) throw Error(fmt::format("cosine_lr: total_steps must be > 0, got {}", total_steps));
}

float CosineLr::lr(std::int64_t step) const {
  check_step("cosine_lr", step);
  if (step >= total_) return min_;
  const double progress = static_cast<double>(step) / static_cast<double>(total_);
  return static_cast<float>(min_ +
                            (static_cast<double>(base_) - min_) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0);
}

WarmupLr::WarmupLr(std::shared_ptr<const LrSchedule> after, std::int64_t warmup_steps, float start_factor)
    : after_(std::move(after)), warmup_(warmup_steps), start_(start_factor) {
  if (!after_) throw Error("warmup_lr: no schedule to warm up into");
  if (warmup_steps < 0) throw Error(fmt::format("warmup_lr: warmup_steps must be >= 0, got {}", warmup_steps));
  if (!(start_factor >= 0.0f && start_factor <= 1.0f))
    throw Error(fmt::format("warmup_lr: start_factor must lie in [0, 1], got {}", start_factor));
}

float WarmupLr::lr(std::int64_t step) const {
  check_step("warmup_lr", step);
  if (step >= warmup_) return after_->lr(step - warmup_);
  const double factor = start_ + (1.0 - start_) * static_cast<double>(step) / static_cast<double>(warmup_);
  return static_cast<float>(after_->lr(0) * factor);
}

}  // namespace attnlab::optim
