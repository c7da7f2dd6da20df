// multitask/shared_bottom: hard parameter sharing (Caruana 1997). One MLP shared by every task;
// each task receives the same representation:
//   h = mlp(x)         x [B, in] -> h [B, H]   (act after every layer; H = in for no layers)
//   out_t = h          for every task t
#include "framework/registry/registry.h"
#include "plugins/multitask/common/mlp.h"

namespace attnlab::plugins {

struct SharedBottomConfig {
  std::vector<std::int64_t> hidden{32};
  std::string activation = "relu";
  template <class V>
  void visit(V& v) {
    v("hidden", hidden).min(1).doc("widths of the shared layers; empty: the input passes through unchanged");
    v("activation", activation).choices({"relu", "tanh", "sigmoid", "gelu", "none"}).doc("applied after every layer");
  }
};

class SharedBottom : public model::MultiTask {
 public:
  SharedBottom(const SharedBottomConfig& c, const Context& ctx)
      : in_dim_((check_multitask_context("multitask/shared_bottom", ctx), ctx.in_dim)), tasks_(ctx.tasks.size()),
        mlp_(add_child("mlp", std::make_unique<Mlp>(ctx.in_dim, c.hidden, parse_activation(c.activation), *ctx.rng))) {}

  std::vector<Var> forward(const Var& x) override {
    check_multitask_input("multitask/shared_bottom", x, in_dim_);
    return std::vector<Var>(tasks_, mlp_.forward(x));
  }
  std::int64_t out_dim() const override { return mlp_.out_dim(); }

 private:
  std::int64_t in_dim_;
  std::size_t tasks_;
  Mlp& mlp_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::MultiTask, shared_bottom, attnlab::plugins::SharedBottom,
                        attnlab::plugins::SharedBottomConfig, "one MLP shared by every task (hard parameter sharing)");
