#include "framework/autograd/var.h"

#include <unordered_set>

namespace attnlab::autograd {
namespace {

thread_local bool t_grad_enabled = true;

void accumulate(Node& n, Tensor g) {
  if (g.shape() != n.value.shape())
    throw ShapeError(
        n.op, fmt::format("gradient of shape {} for a value of shape {}", g.shape().str(), n.value.shape().str()));
  if (!n.grad.defined()) {
    n.grad = std::move(g);
    n.grad_owned = false;
  } else if (n.grad_owned) {
    n.grad.add_(g);
  } else {
    Tensor sum = n.grad.clone();
    sum.add_(g);
    n.grad = std::move(sum);
    n.grad_owned = true;
  }
}

}  // namespace

Var::Var(Tensor value, bool requires_grad) : n_(std::make_shared<Node>()) {
  if (requires_grad && value.dtype() != core::DType::f32)
    throw DTypeError("var", "only f32 values can require gradients");
  n_->value = std::move(value);
  n_->requires_grad = requires_grad;
}

void Var::set_value(Tensor v) {
  if (v.shape() != n_->value.shape())
    throw ShapeError("set_value",
                     fmt::format("new value {} for a variable of shape {}", v.shape().str(), n_->value.shape().str()));
  n_->value = std::move(v);
}

void Grads::add(std::size_t i, Tensor g) {
  if (!needs(i)) return;
  accumulate(*n_.inputs[i], std::move(g));
}

Var make_result(Tensor value, std::vector<Var> inputs, const char* op, BackwardFn backward) {
  bool any = false;
  if (t_grad_enabled)
    for (const auto& v : inputs) any = any || (v.defined() && v.requires_grad());
  auto n = std::make_shared<Node>();
  n->value = std::move(value);
  n->op = op;
  if (!any) return Var(std::move(n));
  if (!backward)
    throw NotDifferentiable(op, "the op has no backward; run it under NoGrad or on inputs that need no gradient");
  n->requires_grad = true;
  n->is_leaf = false;
  n->inputs.reserve(inputs.size());
  for (auto& v : inputs) n->inputs.push_back(v.defined() ? v.node() : nullptr);
  n->backward = std::move(backward);
  return Var(std::move(n));
}

void Var::backward() const {
  if (n_->value.numel() != 1)
    throw AutogradError(fmt::format("backward() without a seed needs a one-element result, got {} from '{}'",
                                    n_->value.shape().str(), n_->op));
  backward(Tensor::full(n_->value.shape(), 1.0f));
}

void Var::backward(const Tensor& seed, bool retain_graph) const {
  if (!n_->requires_grad)
    throw AutogradError(fmt::format("backward through '{}', which does not require grad", n_->op));
  if (!n_->is_leaf && !n_->backward && n_->inputs.empty())
    throw AutogradError(fmt::format("backward through '{}' a second time: its graph was freed", n_->op));

  // Reverse topological order by an iterative post-order DFS (deep graphs must not overflow the
  // stack). `order` owns its nodes: freeing a node's inputs below must not free a node still to visit.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{n_, 0}};
  seen.insert(n_.get());
  while (!stack.empty()) {
    auto& top = stack.back();
    if (top.second < top.first->inputs.size()) {
      std::shared_ptr<Node> in = top.first->inputs[top.second++];
      if (in && in->requires_grad && !in->is_leaf && seen.insert(in.get()).second) stack.emplace_back(std::move(in), 0);
    } else {
      order.push_back(std::move(top.first));
      stack.pop_back();
    }
  }

  accumulate(*n_, seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& node = **it;
    if (node.is_leaf) continue;
    if (!node.backward)
      throw AutogradError(fmt::format("backward through '{}' a second time: its graph was freed", node.op));
    if (node.grad.defined()) {
      Grads g(node);
      node.backward(node.grad, g);
    }
    // Free what is no longer needed: the intermediate gradient, and unless the graph is retained,
    // the closure and its saved tensors.
    node.grad = Tensor();
    node.grad_owned = false;
    if (!retain_graph) {
      node.backward = nullptr;
      node.inputs.clear();
    }
  }
}

bool grad_enabled() { return t_grad_enabled; }

NoGrad::NoGrad(bool disable) : prev_(t_grad_enabled) { t_grad_enabled = !disable; }
NoGrad::~NoGrad() { t_grad_enabled = prev_; }

}  // namespace attnlab::autograd
