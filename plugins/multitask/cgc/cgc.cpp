#include "plugins/multitask/cgc/ple_stack.h"

#include "framework/registry/registry.h"

namespace attnlab::plugins {

PleStack::PleStack(const CgcConfig& c, int levels, const Context& ctx, const char* plugin)
    : plugin_(plugin), in_dim_(ctx.in_dim) {
  check_multitask_context(plugin, ctx);
  if (c.expert_hidden.empty()) throw Error(fmt::format("{}: expert_hidden needs at least one layer", plugin));
  if (levels < 1) throw Error(fmt::format("{}: levels must be >= 1, got {}", plugin, levels));
  const ops::Activation act = parse_activation(c.activation);
  core::Rng& rng = *ctx.rng;
  const std::size_t tasks = ctx.tasks.size();
  const auto experts = static_cast<std::int64_t>(c.task_experts + c.shared_experts);
  auto& all = add_child("levels", std::make_unique<nn::Module>());
  std::int64_t in = in_dim_;
  for (int j = 0; j < levels; ++j) {
    auto& m = all.add_child(std::to_string(j), std::make_unique<nn::Module>());
    Level l;
    auto& te = m.add_child("task_experts", std::make_unique<nn::Module>());
    for (std::size_t t = 0; t < tasks; ++t) {
      auto& tm = te.add_child(std::to_string(t), std::make_unique<nn::Module>());
      l.task_experts.emplace_back();
      for (int k = 0; k < c.task_experts; ++k)
        l.task_experts.back().push_back(
            &tm.add_child(std::to_string(k), std::make_unique<Mlp>(in, c.expert_hidden, act, rng)));
    }
    auto& se = m.add_child("shared_experts", std::make_unique<nn::Module>());
    for (int k = 0; k < c.shared_experts; ++k)
      l.shared_experts.push_back(
          &se.add_child(std::to_string(k), std::make_unique<Mlp>(in, c.expert_hidden, act, rng)));
    auto& tg = m.add_child("task_gates", std::make_unique<nn::Module>());
    for (std::size_t t = 0; t < tasks; ++t)
      l.task_gates.push_back(&tg.add_child(std::to_string(t), std::make_unique<nn::Linear>(in, experts, true, rng)));
    if (j + 1 < levels) {
      const auto all_experts = static_cast<std::int64_t>(tasks) * c.task_experts + c.shared_experts;
      l.shared_gate = &m.add_child("shared_gate", std::make_unique<nn::Linear>(in, all_experts, true, rng));
    }
    levels_.push_back(std::move(l));
    in = c.expert_hidden.back();
  }
  out_dim_ = in;
}

std::vector<Var> PleStack::forward(const Var& x) {
  check_multitask_input(plugin_, x, in_dim_);
  const std::size_t tasks = levels_.front().task_gates.size();
  std::vector<Var> task_in(tasks, x);
  Var shared_in = x;
  gates_.clear();
  for (const Level& l : levels_) {
    std::vector<Var> shared;  // K_s x [B, H]
    for (const Mlp* e : l.shared_experts) shared.push_back(e->forward(shared_in));
    std::vector<Var> everything;  // T K_t + K_s experts, for the shared gate
    std::vector<Var> task_out;
    gates_.emplace_back();
    for (std::size_t t = 0; t < tasks; ++t) {
      std::vector<Var> mine;
      for (const Mlp* e : l.task_experts[t]) mine.push_back(e->forward(task_in[t]));
      everything.insert(everything.end(), mine.begin(), mine.end());
      mine.insert(mine.end(), shared.begin(), shared.end());
      Var gate = ops::softmax(l.task_gates[t]->forward(task_in[t]), -1);  // [B, K_t + K_s]
      gates_.back().push_back(gate.value());
      task_out.push_back(mix_experts(gate, mine));
    }
    if (l.shared_gate) {
      everything.insert(everything.end(), shared.begin(), shared.end());
      Var gate = ops::softmax(l.shared_gate->forward(shared_in), -1);  // [B, T K_t + K_s]
      gates_.back().push_back(gate.value());
      shared_in = mix_experts(gate, everything);
    }
    task_in = std::move(task_out);
  }
  return task_in;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::MultiTask, cgc, attnlab::plugins::Cgc, attnlab::plugins::CgcConfig,
    "customized gate control: shared plus task-specific experts, one gate per task (Tang et al. 2020)");
