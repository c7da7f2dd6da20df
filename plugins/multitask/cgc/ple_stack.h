// multitask/cgc and multitask/ple: Customized Gate Control and Progressive Layered Extraction
// (Tang et al., RecSys 2020, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning
// (MTL) Model for Personalized Recommendations"). CGC is one PLE level.
//
// Level j (j = 0..L-1) has, for every task t, task_experts experts E_{t,k} of its own, and
// shared_experts experts S_k. Its inputs are one per task, u_t, and a shared one, u_s; at level 0
// all of them are x [B, in]. With every expert an MLP (act after every layer) of output width H:
//
//   g_t   = softmax(u_t W_tᵀ + b_t)                            [B, K_t + K_s]
//   out_t = sum over [E_{t,0}(u_t) .. E_{t,K_t-1}(u_t), S_0(u_s) .. S_{K_s-1}(u_s)] weighted by g_t
//           (the task's own experts first, then the shared ones)                    [B, H]
// and, on every level but the last, a shared gate over all experts of the level:
//   g_s   = softmax(u_s W_sᵀ + b_s)                            [B, T K_t + K_s]
//   out_s = sum over [E_{0,*}(u_0) .. E_{T-1,*}(u_{T-1}), S_*(u_s)] weighted by g_s   [B, H]
// Level j+1 takes u_t = out_t and u_s = out_s. The outputs are the last level's out_t.
//
// Parameters: levels.<j>.task_experts.<t>.<k>.<layer>.{weight,bias},
// levels.<j>.shared_experts.<k>.<layer>.{weight,bias}, levels.<j>.task_gates.<t>.{weight,bias},
// levels.<j>.shared_gate.{weight,bias} (not on the last level).
#pragma once

#include "plugins/multitask/common/mlp.h"

namespace attnlab::plugins {

struct CgcConfig {
  int shared_experts = 2;
  int task_experts = 1;
  std::vector<std::int64_t> expert_hidden{32};
  std::string activation = "relu";
  template <class V>
  void visit(V& v) {
    visit_experts(v);
  }
  template <class V>
  void visit_experts(V& v) {
    v("shared_experts", shared_experts).range(1, 1024).doc("experts shared by every task, per level");
    v("task_experts", task_experts).range(1, 1024).doc("experts of each task, per level");
    v("expert_hidden", expert_hidden).min(1).doc("layer widths of each expert MLP (at least one layer)");
    v("activation", activation)
        .choices({"relu", "tanh", "sigmoid", "gelu", "none"})
        .doc("applied after every expert layer");
  }
};

struct PleConfig : CgcConfig {
  int levels = 2;
  template <class V>
  void visit(V& v) {
    visit_experts(v);
    v("levels", levels).range(1, 64).doc("stacked extraction levels (1 is CGC)");
  }
};

class PleStack : public model::MultiTask {
 public:
  /// `plugin` names the plugin in errors. Throws attnlab::Error for an empty expert_hidden,
  /// levels < 1 or a bad context (no task, in_dim < 1, no Rng).
  PleStack(const CgcConfig& c, int levels, const Context& ctx, const char* plugin);
  /// x [B, in_dim] -> one [B, out_dim()] per task. ShapeError for any other input shape.
  std::vector<Var> forward(const Var& x) override;
  std::int64_t out_dim() const override { return out_dim_; }
  int levels() const { return static_cast<int>(levels_.size()); }
  /// The gate values of the last forward: gates()[j][t] is task t's gate on level j, [B, K_t + K_s];
  /// on every level but the last, gates()[j][T] is the shared gate, [B, T K_t + K_s]. Rows sum to 1.
  const std::vector<std::vector<Tensor>>& gates() const { return gates_; }

 private:
  struct Level {
    std::vector<std::vector<const Mlp*>> task_experts;  // [task][k]
    std::vector<const Mlp*> shared_experts;
    std::vector<const nn::Linear*> task_gates;
    const nn::Linear* shared_gate = nullptr;
  };
  const char* plugin_;
  std::int64_t in_dim_, out_dim_ = 0;
  std::vector<Level> levels_;
  std::vector<std::vector<Tensor>> gates_;
};

class Cgc : public PleStack {
 public:
  Cgc(const CgcConfig& c, const Context& ctx) : PleStack(c, 1, ctx, "multitask/cgc") {}
};

class Ple : public PleStack {
 public:
  Ple(const PleConfig& c, const Context& ctx) : PleStack(c, c.levels, ctx, "multitask/ple") {}
};

}  // namespace attnlab::plugins
