// multitask/task_attention: per-task towers, then every task attends over all tasks'
// representations with a learned query of its own (softmax over tasks).
//
//   h_s        = tower_s(x)                                   [B, H]   (an MLP, act after every layer)
//   score[t,s] = q_t · h_s / sqrt(H)                          [B, T, T]
//   α[t, :]    = softmax_s(score[t, :])                       [B, T, T]
//   out_t      = sum_s α[t, s] h_s   (+ h_t when residual)    [B, H]
//
// q_t is row t of the parameter `queries` [T, H], initialised from U(-1/sqrt(H), 1/sqrt(H)).
// Parameters: towers.<t>.<layer>.{weight,bias}, queries [T, H].
#pragma once

#include "plugins/multitask/common/mlp.h"

namespace attnlab::plugins {

struct TaskAttentionConfig {
  std::vector<std::int64_t> hidden{32};
  std::string activation = "relu";
  bool residual = false;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden).min(1).doc("layer widths of every task tower (at least one layer)");
    v("activation", activation)
        .choices({"relu", "tanh", "sigmoid", "gelu", "none"})
        .doc("applied after every tower layer");
    v("residual", residual).doc("add each task's own tower output to its attention output");
  }
};

class TaskAttention : public model::MultiTask {
 public:
  /// Throws attnlab::Error for an empty hidden list or a bad context (no task, in_dim < 1, no Rng).
  TaskAttention(const TaskAttentionConfig& c, const Context& ctx);
  /// x [B, in_dim] -> one [B, out_dim()] per task. ShapeError for any other input shape.
  std::vector<Var> forward(const Var& x) override;
  std::int64_t out_dim() const override { return out_dim_; }
  /// α of the last forward, [B, T, T]: row t holds task t's weights over the tasks (sums to 1).
  const Tensor& weights() const { return weights_; }

 private:
  std::int64_t in_dim_, out_dim_ = 0;
  bool residual_;
  std::vector<const Mlp*> towers_;
  Var queries_;
  Tensor weights_;
};

}  // namespace attnlab::plugins
