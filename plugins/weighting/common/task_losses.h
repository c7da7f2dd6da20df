// Helpers shared by the weighting plugins (plugins/weighting/*): checks of the task losses and
// context, the weighted sum of the losses, and writing into a parameter's .grad.
#pragma once

#include "framework/model/families.h"
#include "framework/ops/ops.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

/// Throws attnlab::Error naming the plugin when the context has no task.
inline void check_weighting_context(const char* plugin, const model::Weighting::Context& ctx) {
  if (ctx.tasks.empty()) throw Error(fmt::format("{}: needs at least one task", plugin));
}

/// Throws ShapeError naming the plugin unless there is one defined, one-element loss per task.
inline void check_task_losses(const char* plugin, const std::vector<Var>& losses, std::size_t tasks) {
  if (losses.size() != tasks)
    throw ShapeError(plugin, fmt::format("{} task losses for {} tasks", losses.size(), tasks));
  for (std::size_t t = 0; t < losses.size(); ++t) {
    if (!losses[t].defined()) throw ShapeError(plugin, fmt::format("task loss {} is undefined", t));
    if (losses[t].value().numel() != 1)
      throw ShapeError(plugin,
                       fmt::format("task loss {} has shape {} (expected one element)", t, losses[t].shape().str()));
  }
}

/// Throws ShapeError naming the plugin unless there is one value per task.
inline void check_task_values(const char* plugin, const std::vector<double>& values, std::size_t tasks) {
  if (values.size() != tasks)
    throw ShapeError(plugin, fmt::format("{} task losses for {} tasks", values.size(), tasks));
}

/// The task losses as one vector [T].
inline Var stack_losses(const std::vector<Var>& losses) {
  std::vector<Var> flat;
  for (const Var& l : losses) flat.push_back(ops::reshape(l, core::Shape{1}));
  return ops::concat(flat, 0);
}

/// sum_t w_t L_t with constant weights (no gradient reaches them) -> [].
inline Var weighted_sum(const std::vector<Var>& losses, const std::vector<float>& w) {
  const Var weights(Tensor::from(w, core::Shape{static_cast<std::int64_t>(w.size())}));
  return ops::sum_all(weights * stack_losses(losses));
}

/// The gradient of a parameter as a tensor of its shape (zeros when none has flowed in).
inline Tensor grad_or_zeros(const Var& p) { return p.grad().defined() ? p.grad() : Tensor::zeros(p.shape()); }

/// Replaces the .grad of a leaf (the tensor is not written to afterwards).
inline void set_grad(const Var& p, Tensor g) {
  p.node()->grad = std::move(g);
  p.node()->grad_owned = false;
}

/// a + b for gradients where either may be undefined (no gradient).
inline Tensor add_grads(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  Tensor s = a.clone();
  s.add_(b);
  return s;
}

/// The index of the last loss that requires grad (losses.size() when none does): per-task backwards
/// retain the graph for every loss but that one.
inline std::size_t last_differentiable(const std::vector<Var>& losses) {
  for (std::size_t t = losses.size(); t-- > 0;)
    if (losses[t].requires_grad()) return t;
  return losses.size();
}

}  // namespace attnlab::plugins
