// Reverse-mode automatic differentiation.
//
// A Var is a handle on a node of the computation graph: a value (Tensor), its gradient, and, for
// results of ops, the inputs and a backward closure. Ops record themselves as they run (the graph
// is the tape); `backward()` walks it in reverse topological order. Gradients of leaves that
// require grad (parameters) *accumulate* across backward calls until `zero_grad()`; gradients of
// intermediate results are freed as soon as they have been propagated, and so is the graph.
//
// Plugin authors never write a backward: they compose ops from framework/ops. Only core ops call
// `make_result` with a closure. An op recorded under grad mode without a backward throws
// NotDifferentiable at once, not when backward runs.
//
// Grad mode is per thread (`NoGrad` switches it off in a scope): trials on different threads
// never see each other's mode.
#pragma once

#include "framework/core/tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attnlab::autograd {

using core::Shape;
using core::Tensor;

class Grads;
/// Given the gradient of the op's output, adds gradients into the inputs that need them.
using BackwardFn = std::function<void(const Tensor& grad_out, Grads& grads)>;

struct Node {
  Tensor value;
  Tensor grad;              // undefined until something flows in
  bool grad_owned = false;  // grad's buffer is ours alone: safe to accumulate into in place
  bool requires_grad = false;
  bool is_leaf = true;
  const char* op = "leaf";
  std::vector<std::shared_ptr<Node>> inputs;
  BackwardFn backward;
};

class Var {
 public:
  Var() = default;
  /// A leaf. Parameters are leaves with requires_grad = true.
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> n) : n_(std::move(n)) {}

  bool defined() const { return static_cast<bool>(n_); }
  const Tensor& value() const { return n_->value; }
  /// Replaces a leaf's value (e.g. an optimizer step or loading a checkpoint). Shapes must match.
  void set_value(Tensor v);
  const Shape& shape() const { return n_->value.shape(); }
  int rank() const { return n_->value.rank(); }
  bool requires_grad() const { return n_->requires_grad; }
  bool is_leaf() const { return n_->is_leaf; }
  const char* op() const { return n_->op; }

  /// The accumulated gradient (undefined if none has flowed here since the last zero_grad).
  const Tensor& grad() const { return n_->grad; }
  /// Drops the gradient (the next backward starts from zero).
  void zero_grad() const {
    n_->grad = Tensor();
    n_->grad_owned = false;
  }

  /// Backpropagates from a one-element result (seed gradient 1).
  void backward() const;
  /// Backpropagates with an explicit seed gradient of the value's shape. With retain_graph the
  /// graph (closures and saved tensors) survives, so another backward can run through it (e.g.
  /// one per task loss, for PCGrad); intermediate gradients are freed either way.
  void backward(const Tensor& seed, bool retain_graph = false) const;

  /// A leaf that shares this value but has no history.
  Var detach() const { return Var(n_->value, false); }

  const std::shared_ptr<Node>& node() const { return n_; }

 private:
  std::shared_ptr<Node> n_;
};

/// Collects the gradients an op's backward produces for its inputs.
class Grads {
 public:
  explicit Grads(Node& n) : n_(n) {}
  /// Whether input i needs a gradient (skip work when it does not).
  bool needs(std::size_t i) const { return i < n_.inputs.size() && n_.inputs[i] && n_.inputs[i]->requires_grad; }
  /// Adds g (shape of input i) into input i's gradient. g may be shared with other tensors: it is
  /// never written to afterwards.
  void add(std::size_t i, Tensor g);

 private:
  Node& n_;
};

/// Records the result of an op. If grad mode is off or no input requires grad, the result is a
/// plain leaf. Otherwise `backward` must be set; an empty one throws NotDifferentiable(op).
Var make_result(Tensor value, std::vector<Var> inputs, const char* op, BackwardFn backward);

/// Whether ops record a graph on this thread.
bool grad_enabled();

/// Switches recording off (or on) for the lifetime of the scope, on this thread.
class NoGrad {
 public:
  explicit NoGrad(bool disable = true);
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

}  // namespace attnlab::autograd
