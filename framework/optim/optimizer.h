// Optimizer: the base of SGD, Adam and AdamW (sgd.h, adam.h).
//
// An optimizer holds handles on parameters (leaf Vars that require grad, usually Module::params())
// and, per parameter, an update count and named moment buffers ("slots", e.g. exp_avg). `step()`
// updates every parameter whose gradient is defined and skips the others, as PyTorch does: a skipped
// parameter's moments and update count do not advance. Updates are written into the parameter's
// value buffer in place (handles sharing that buffer see them, as with PyTorch's in-place steps);
// gradients are only read.
//
// One learning rate applies to all parameters (no parameter groups). A schedule drives it from the
// step count: `opt.set_lr(schedule.lr(opt.steps())); opt.step();`.
//
// Checkpoints. `state()` is a map of tensors that store/ writes as is, and `load_state()` restores
// it exactly, so a resumed run continues bitwise identically:
//   "step"          i64 []       number of step() calls
//   "lr"            f32 []       the current learning rate
//   "num_params"    i64 []       how many parameters the optimizer was built with
//   "<i>.step"      i64 []       updates applied to parameter i (absent until its first update)
//   "<i>.<slot>"    f32 [shape of parameter i], for every slot of the optimizer (present iff <i>.step is)
// Parameter i is the i-th Var given to the constructor.
//
// Threads. Updates are vectorized elementwise loops; a parameter of at least kParallelMin elements
// is split into fixed chunks run by TBB (inside the caller's task_arena). Results are bitwise
// reproducible: they do not depend on the number of threads or on TBB's scheduling.
#pragma once

#include "framework/autograd/var.h"

#include <array>
#include <map>
#include <string>
#include <vector>

namespace attnlab::optim {

using autograd::Var;
using core::Shape;
using core::Tensor;

/// Optimizer state by key (layout above).
using State = std::map<std::string, Tensor>;

class Optimizer {
 public:
  /// The plugin family (framework/registry): optimizers are built from a spec's train.optimizer.
  static constexpr const char* kFamily = "optimizer";
  struct Context {
    std::vector<Var> params;
  };
  /// Parameters of at least this many elements are updated in parallel chunks.
  static constexpr std::int64_t kParallelMin = std::int64_t{1} << 16;

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter with a defined gradient, then counts one step. While it reads each
  /// gradient it also checks that it is finite (a vectorised pass over the chunk just before its
  /// update, in cache): nonfinite_gradient() names the first parameter that was not.
  void step();
  /// The index (into params()) of the first parameter whose gradient held a NaN or an infinity in
  /// the last step(), or -1. The parameters were updated all the same: a caller that stops on it
  /// discards them.
  std::int64_t nonfinite_gradient() const { return nonfinite_; }
  /// Drops every parameter's gradient.
  void zero_grad();

  float lr() const { return lr_; }
  /// Throws attnlab::Error unless lr is finite and >= 0.
  void set_lr(float lr);
  /// Number of step() calls so far (restored by load_state).
  std::int64_t steps() const { return steps_; }
  const std::vector<Var>& params() const { return params_; }
  /// "sgd", "adam" or "adamw".
  const std::string& name() const { return name_; }
  /// The moment buffers each parameter gets on its first update, e.g. {"exp_avg", "exp_avg_sq"}.
  const std::vector<std::string>& slot_names() const { return slot_names_; }

  /// Deep copies of the whole state (layout above).
  State state() const;
  /// Restores a state() taken from an optimizer of the same kind and configuration on parameters of
  /// the same shapes. Checks everything first; on any problem (missing or unexpected keys, wrong
  /// dtype or shape, a parameter count that differs) it changes nothing and throws one
  /// attnlab::Error listing every problem. Hyperparameters other than lr are not part of the state.
  void load_state(const State& state);

 protected:
  /// Throws attnlab::Error naming the optimizer when params is empty, or holds an undefined Var, a
  /// non-leaf, a Var that does not require grad or the same parameter twice.
  Optimizer(std::string name, std::vector<Var> params, float lr, std::vector<std::string> slot_names);

  static constexpr std::size_t kMaxSlots = 3;
  /// One parameter's update: flat views of its value, gradient and slots (zeroed on its first
  /// update), and its update count including this one (1 on the first update).
  struct Update {
    float* param;
    const float* grad;
    std::array<float*, kMaxSlots> slot;
    std::int64_t step;
    float lr;
  };
  /// Applies the update to elements [begin, end). Called concurrently on disjoint ranges of one
  /// parameter, so it must only touch those elements.
  virtual void update(const Update& u, std::int64_t begin, std::int64_t end) const = 0;

 private:
  std::string name_;
  std::vector<Var> params_;
  std::vector<std::string> slot_names_;
  float lr_;
  std::int64_t steps_ = 0;
  std::int64_t nonfinite_ = -1;
  std::vector<std::int64_t> param_steps_;   // per parameter
  std::vector<std::vector<Tensor>> slots_;  // per parameter, per slot; empty until the first update
};

}  // namespace attnlab::optim
