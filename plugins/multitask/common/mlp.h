// Building blocks shared by the multitask plugins (plugins/multitask/*): an MLP with one activation
// after every layer, the gate mixture of expert outputs, and the checks of a MultiTask context and
// input. Shapes: B batch, T tasks, E experts, H hidden width.
#pragma once

#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

/// The activation names a multitask config accepts: relu, tanh, sigmoid, gelu, none.
inline ops::Activation parse_activation(const std::string& name) {
  if (name == "relu") return ops::Activation::relu;
  if (name == "tanh") return ops::Activation::tanh;
  if (name == "sigmoid") return ops::Activation::sigmoid;
  if (name == "gelu") return ops::Activation::gelu;
  if (name == "none") return ops::Activation::none;
  throw Error(fmt::format("multitask: unknown activation '{}' (relu, tanh, sigmoid, gelu, none)", name));
}

/// A stack of Linear layers, act(x Wᵀ + b) after EVERY layer (the last one included: the output is
/// a representation fed to task heads, not a prediction). x [..., in] -> [..., out_dim()], where
/// out_dim() is the last hidden width, or `in` for an empty list (the identity). Layers are the
/// children "0", "1", ... with parameters "<i>.weight" [h_i, h_{i-1}] and "<i>.bias" [h_i].
class Mlp : public nn::Module {
 public:
  Mlp(std::int64_t in, const std::vector<std::int64_t>& hidden, ops::Activation act, core::Rng& rng)
      : out_(in), act_(act) {
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      layers_.push_back(&add_child(std::to_string(i), std::make_unique<nn::Linear>(out_, hidden[i], true, rng)));
      out_ = hidden[i];
    }
  }
  Var forward(const Var& x) const {
    Var h = x;
    for (const nn::Linear* l : layers_) h = l->forward(h, act_);
    return h;
  }
  std::int64_t out_dim() const { return out_; }

 private:
  std::int64_t out_;
  ops::Activation act_;
  std::vector<const nn::Linear*> layers_;
};

/// sum_e gate[:, e] * experts[e]: gate [B, E] (rows of softmax weights), experts E tensors [B, H]
/// -> [B, H], as one batched product [B, 1, E] · [B, E, H].
inline Var mix_experts(const Var& gate, const std::vector<Var>& experts) {
  const std::int64_t b = gate.shape()[0];
  Var stacked = ops::stack(experts, 1);  // [B, E, H]
  return ops::reshape(ops::matmul(ops::unsqueeze(gate, 1), stacked), core::Shape{b, stacked.shape()[2]});
}

/// Throws attnlab::Error naming the plugin unless the context has in_dim >= 1, at least one task
/// and an Rng.
inline void check_multitask_context(const char* plugin, const model::MultiTask::Context& ctx) {
  if (ctx.in_dim < 1) throw Error(fmt::format("{}: in_dim must be >= 1, got {}", plugin, ctx.in_dim));
  if (ctx.tasks.empty()) throw Error(fmt::format("{}: needs at least one task", plugin));
  if (!ctx.rng) throw Error(fmt::format("{}: the context has no Rng", plugin));
}

/// Throws ShapeError naming the plugin and x's shape unless x is [B, in_dim] with B >= 1.
inline void check_multitask_input(const char* plugin, const Var& x, std::int64_t in_dim) {
  if (!x.defined()) throw ShapeError(plugin, fmt::format("undefined input (expected [B, {}])", in_dim));
  if (x.rank() != 2 || x.shape()[1] != in_dim || x.shape()[0] < 1)
    throw ShapeError(plugin, fmt::format("input {} (expected [B, {}])", x.shape().str(), in_dim));
}

}  // namespace attnlab::plugins
