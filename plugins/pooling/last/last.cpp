// pooling/last: the last real step of each sequence: [B, T, H] -> [B, H] (GRU4Rec, SASRec).
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct LastPoolConfig {
  template <class V>
  void visit(V&) {}
};

class LastPooling : public model::Pooling {
 public:
  LastPooling(const LastPoolConfig&, const Context& ctx) : dim_(ctx.dim) {}
  Var forward(const Var& x, const Tensor& mask) override {
    const std::int64_t B = x.shape()[0], T = x.shape()[1];
    Tensor last = Tensor::empty(core::Shape{B}, core::DType::i64);
    for (std::int64_t b = 0; b < B; ++b) {
      std::int64_t t = T - 1;
      if (mask.defined())
        while (t > 0 && mask.f32()[b * T + t] == 0.f) --t;
      last.i64()[b] = t;
    }
    return ops::select_steps(x, last);
  }
  std::int64_t out_dim() const override { return dim_; }

 private:
  std::int64_t dim_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Pooling, last, attnlab::plugins::LastPooling, attnlab::plugins::LastPoolConfig,
                        "the last real step");
