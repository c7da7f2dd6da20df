#include "plugins/multitask/task_attention/task_attention.h"

#include "framework/registry/registry.h"

#include <cmath>

namespace attnlab::plugins {

TaskAttention::TaskAttention(const TaskAttentionConfig& c, const Context& ctx)
    : in_dim_(ctx.in_dim), residual_(c.residual) {
  check_multitask_context("multitask/task_attention", ctx);
  if (c.hidden.empty()) throw Error("multitask/task_attention: hidden needs at least one layer");
  const ops::Activation act = parse_activation(c.activation);
  auto& towers = add_child("towers", std::make_unique<nn::Module>());
  for (std::size_t t = 0; t < ctx.tasks.size(); ++t)
    towers_.push_back(&towers.add_child(std::to_string(t), std::make_unique<Mlp>(in_dim_, c.hidden, act, *ctx.rng)));
  out_dim_ = c.hidden.back();
  const float bound = 1.0f / std::sqrt(static_cast<float>(out_dim_));
  queries_ = add_param("queries", core::Shape{static_cast<std::int64_t>(ctx.tasks.size()), out_dim_},
                       nn::init::uniform(*ctx.rng, -bound, bound));
}

std::vector<Var> TaskAttention::forward(const Var& x) {
  check_multitask_input("multitask/task_attention", x, in_dim_);
  const std::int64_t b = x.shape()[0];
  std::vector<Var> h;
  for (const Mlp* t : towers_) h.push_back(t->forward(x));
  Var r = ops::stack(h, 1);                                                  // [B, T, H]
  Var scores = ops::transpose(ops::matmul(r, queries_, false, true), 1, 2);  // [B, T(query), T(source)]
  Var alpha = ops::softmax(scores * (1.0f / std::sqrt(static_cast<float>(out_dim_))), -1);
  weights_ = alpha.value();
  Var mixed = ops::matmul(alpha, r);  // [B, T, H]
  std::vector<Var> out;
  for (std::size_t t = 0; t < h.size(); ++t) {
    const auto ti = static_cast<std::int64_t>(t);
    Var o = ops::reshape(ops::slice(mixed, 1, ti, ti + 1), core::Shape{b, out_dim_});
    out.push_back(residual_ ? o + h[t] : o);
  }
  return out;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::MultiTask, task_attention, attnlab::plugins::TaskAttention, attnlab::plugins::TaskAttentionConfig,
    "per-task towers, then each task attends over every task's representation with a learned query");
