// multitask/mmoe: Multi-gate Mixture-of-Experts (Ma et al., KDD 2018, "Modeling Task Relationships
// in Multi-task Learning with Multi-gate Mixture-of-Experts").
//
//   e_k   = expert_k(x)                       k = 0..E-1, each an MLP   [B, H]
//   g_t   = softmax(x W_tᵀ + b_t)             one gate per task         [B, E]
//   out_t = sum_k g_t[:, k] * e_k                                       [B, H]
//
// Parameters: experts.<k>.<layer>.{weight,bias} (the expert MLPs, act after every layer) and
// gates.<t>.{weight [E, in], bias [E]} (t is the task's index in the context).
#pragma once

#include "plugins/multitask/common/mlp.h"

namespace attnlab::plugins {

struct MmoeConfig {
  int num_experts = 4;
  std::vector<std::int64_t> expert_hidden{32};
  std::string activation = "relu";
  template <class V>
  void visit(V& v) {
    v("num_experts", num_experts).range(1, 1024).doc("number of experts shared by the gates");
    v("expert_hidden", expert_hidden).min(1).doc("layer widths of each expert MLP (at least one layer)");
    v("activation", activation)
        .choices({"relu", "tanh", "sigmoid", "gelu", "none"})
        .doc("applied after every expert layer");
  }
};

class Mmoe : public model::MultiTask {
 public:
  /// Throws attnlab::Error for an empty expert_hidden or a bad context (no task, in_dim < 1, no Rng).
  Mmoe(const MmoeConfig& c, const Context& ctx);
  /// x [B, in_dim] -> one [B, out_dim()] per task. ShapeError for any other input shape.
  std::vector<Var> forward(const Var& x) override;
  std::int64_t out_dim() const override { return out_dim_; }
  /// The gate values of the last forward, one [B, E] per task (rows sum to 1); empty before it.
  const std::vector<Tensor>& gates() const { return gates_; }

 private:
  std::int64_t in_dim_, out_dim_ = 0;
  std::vector<Mlp*> experts_;
  std::vector<nn::Linear*> gate_layers_;
  std::vector<Tensor> gates_;
};

}  // namespace attnlab::plugins
