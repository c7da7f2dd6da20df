// attention/hello: scales the sequence by a constant; every step attends only to itself.
// A minimal out-of-tree plugin: a typed Config, a Base::Context-taking constructor, a forward
// written with framework ops, and one registration line.
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace hello {

using namespace attnlab;
using autograd::Var;

struct HelloConfig {
  float scale = 1.f;
  template <class V>
  void visit(V& v) {
    v("scale", scale).range(0.0, 100.0).doc("factor applied to every element of the sequence");
  }
};

class HelloAttention : public model::Attention {
 public:
  HelloAttention(const HelloConfig& cfg, const Context& ctx) : scale_(cfg.scale), dim_(ctx.dim) {}

  // x [B, T, dim] -> x * scale [B, T, dim]; weights_: the identity [B, T, T].
  Var forward(const Var& x, const core::Tensor&, const Var&) override {
    if (x.rank() != 3 || x.shape()[2] != dim_)
      throw ShapeError("attention/hello", fmt::format("x {} is not [B, T, {}]", x.shape().str(), dim_));
    const std::int64_t b = x.shape()[0], t = x.shape()[1];
    weights_ = core::Tensor::zeros({b, t, t});
    float* w = weights_.f32();
    for (std::int64_t i = 0; i < b; ++i)
      for (std::int64_t j = 0; j < t; ++j) w[(i * t + j) * t + j] = 1.f;
    return ops::mul(x, Var(core::Tensor::scalar(scale_)));
  }
  std::int64_t out_dim() const override { return dim_; }

 private:
  float scale_;
  std::int64_t dim_;
};

}  // namespace hello

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Attention, hello, hello::HelloAttention, hello::HelloConfig,
                        "scales the sequence by a constant (an out-of-tree example)");
