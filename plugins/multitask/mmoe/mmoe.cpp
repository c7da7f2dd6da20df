#include "plugins/multitask/mmoe/mmoe.h"

#include "framework/registry/registry.h"

namespace attnlab::plugins {

Mmoe::Mmoe(const MmoeConfig& c, const Context& ctx) : in_dim_(ctx.in_dim) {
  check_multitask_context("multitask/mmoe", ctx);
  if (c.expert_hidden.empty()) throw Error("multitask/mmoe: expert_hidden needs at least one layer");
  const ops::Activation act = parse_activation(c.activation);
  auto& experts = add_child("experts", std::make_unique<nn::Module>());
  for (int k = 0; k < c.num_experts; ++k)
    experts_.push_back(
        &experts.add_child(std::to_string(k), std::make_unique<Mlp>(in_dim_, c.expert_hidden, act, *ctx.rng)));
  out_dim_ = experts_.front()->out_dim();
  auto& gates = add_child("gates", std::make_unique<nn::Module>());
  for (std::size_t t = 0; t < ctx.tasks.size(); ++t)
    gate_layers_.push_back(
        &gates.add_child(std::to_string(t), std::make_unique<nn::Linear>(in_dim_, c.num_experts, true, *ctx.rng)));
}

std::vector<Var> Mmoe::forward(const Var& x) {
  check_multitask_input("multitask/mmoe", x, in_dim_);
  std::vector<Var> experts;
  for (const Mlp* e : experts_) experts.push_back(e->forward(x));  // E x [B, H]
  std::vector<Var> out;
  gates_.clear();
  for (const nn::Linear* g : gate_layers_) {
    Var gate = ops::softmax(g->forward(x), -1);  // [B, E]
    gates_.push_back(gate.value());
    out.push_back(mix_experts(gate, experts));
  }
  return out;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::MultiTask, mmoe, attnlab::plugins::Mmoe, attnlab::plugins::MmoeConfig,
    "multi-gate mixture of experts: one softmax gate per task over shared experts (Ma et al. 2018)");
