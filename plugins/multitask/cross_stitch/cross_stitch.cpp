// multitask/cross_stitch: cross-stitch networks (Misra et al., CVPR 2016, "Cross-stitch Networks
// for Multi-task Learning"). One tower per task; after every layer l the tasks' activations are
// mixed by a learned [T, T] matrix A_l:
//
//   a_t   = act(h_t W_{l,t}ᵀ + b_{l,t})          [B, H_l]   (h_t = x at l = 0)
//   h'_t  = sum_s A_l[t, s] a_s                  [B, H_l]
//
// A_l starts as init_self on the diagonal and (1 - init_self) / (T - 1) elsewhere (rows sum to 1;
// for a single task A_l = [[1]]). The outputs are the last layer's h'_t.
// Parameters: towers.<t>.<l>.{weight,bias}, stitch_<l> [T, T].
#include "framework/registry/registry.h"
#include "plugins/multitask/common/mlp.h"

namespace attnlab::plugins {

struct CrossStitchConfig {
  std::vector<std::int64_t> hidden{32, 32};
  std::string activation = "relu";
  double init_self = 0.9;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden)
        .min(1)
        .doc("layer widths of every task tower (at least one layer); a cross-stitch follows each layer");
    v("activation", activation)
        .choices({"relu", "tanh", "sigmoid", "gelu", "none"})
        .doc("applied after every tower layer");
    v("init_self", init_self).range(0, 1).doc("initial weight of a task's own activations in its cross-stitch row");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (hidden.empty()) c.fail("hidden", "multitask/cross_stitch: hidden needs at least one layer");
  }
};

class CrossStitch : public model::MultiTask {
 public:
  CrossStitch(const CrossStitchConfig& c, const Context& ctx)
      : in_dim_(ctx.in_dim), act_(parse_activation(c.activation)) {
    check_multitask_context("multitask/cross_stitch", ctx);
    config::enforce(c);
    const auto tasks = static_cast<std::int64_t>(ctx.tasks.size());
    auto& towers = add_child("towers", std::make_unique<nn::Module>());
    towers_.resize(ctx.tasks.size());
    for (std::size_t t = 0; t < towers_.size(); ++t) {
      auto& tower = towers.add_child(std::to_string(t), std::make_unique<nn::Module>());
      std::int64_t in = in_dim_;
      for (std::size_t l = 0; l < c.hidden.size(); ++l) {
        towers_[t].push_back(
            &tower.add_child(std::to_string(l), std::make_unique<nn::Linear>(in, c.hidden[l], true, *ctx.rng)));
        in = c.hidden[l];
      }
    }
    std::vector<float> a(static_cast<std::size_t>(tasks * tasks));
    const float off = tasks > 1 ? static_cast<float>((1.0 - c.init_self) / static_cast<double>(tasks - 1)) : 0.f;
    for (std::int64_t i = 0; i < tasks; ++i)
      for (std::int64_t j = 0; j < tasks; ++j)
        a[static_cast<std::size_t>(i * tasks + j)] = i != j ? off : tasks > 1 ? static_cast<float>(c.init_self) : 1.f;
    const Tensor init = Tensor::from(a, core::Shape{tasks, tasks});
    for (std::size_t l = 0; l < c.hidden.size(); ++l)
      stitches_.push_back(
          add_param(fmt::format("stitch_{}", l), init.shape(), [&init](const core::Shape&) { return init.clone(); }));
    out_dim_ = c.hidden.back();
  }

  std::vector<Var> forward(const Var& x) override {
    check_multitask_input("multitask/cross_stitch", x, in_dim_);
    const std::int64_t b = x.shape()[0];
    const auto tasks = static_cast<std::int64_t>(towers_.size());
    std::vector<Var> h(towers_.size(), x);
    for (std::size_t l = 0; l < stitches_.size(); ++l) {
      for (std::size_t t = 0; t < h.size(); ++t) h[t] = towers_[t][l]->forward(h[t], act_);
      const std::int64_t width = h.front().shape()[1];
      Var mixed = ops::matmul(stitches_[l], ops::reshape(ops::stack(h, 0), core::Shape{tasks, b * width}));  // [T, B*H]
      for (std::size_t t = 0; t < h.size(); ++t) {
        const auto ti = static_cast<std::int64_t>(t);
        h[t] = ops::reshape(ops::slice(mixed, 0, ti, ti + 1), core::Shape{b, width});
      }
    }
    return h;
  }
  std::int64_t out_dim() const override { return out_dim_; }

 private:
  std::int64_t in_dim_, out_dim_ = 0;
  ops::Activation act_;
  std::vector<std::vector<const nn::Linear*>> towers_;  // [task][layer]
  std::vector<Var> stitches_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::MultiTask, cross_stitch, attnlab::plugins::CrossStitch, attnlab::plugins::CrossStitchConfig,
    "one tower per task, activations mixed by a learned [T, T] matrix after every layer (Misra et al. 2016)");
