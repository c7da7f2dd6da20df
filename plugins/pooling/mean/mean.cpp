// pooling/mean: the mean over real (unmasked) steps: [B, T, H] -> [B, H].
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct MeanPoolConfig {
  template <class V>
  void visit(V&) {}
};

class MeanPooling : public model::Pooling {
 public:
  MeanPooling(const MeanPoolConfig&, const Context& ctx) : dim_(ctx.dim) {}
  Var forward(const Var& x, const Tensor& mask) override {
    if (!mask.defined()) return ops::mean(x, 1);
    Var m(mask.reshape(core::Shape{mask.shape()[0], mask.shape()[1], 1}));  // [B, T, 1]
    Var count = ops::sum(m, 1) + 1e-9f;                                     // [B, 1]
    return ops::sum(x * m, 1) / count;                                      // [B, H]
  }
  std::int64_t out_dim() const override { return dim_; }

 private:
  std::int64_t dim_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Pooling, mean, attnlab::plugins::MeanPooling, attnlab::plugins::MeanPoolConfig,
                        "mean over the real steps");
