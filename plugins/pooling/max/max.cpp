// pooling/max: the elementwise maximum over the real steps (max-over-time pooling, Collobert et al.
// 2011; TextCNN, Kim 2014): [B, T, H] -> [B, H].
//
//   out[b, h] = max_{t: mask[b, t] = 1} x[b, t, h]
//
// Padding steps are filled with the lowest finite float before the max, so they never win while a
// real step exists and receive no gradient. A sequence without any real step pools to zeros.
// The gradient goes to the maximal step only (the first one on ties).
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/common/sequence.h"

#include <limits>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct MaxPoolConfig {
  template <class V>
  void visit(V&) {}
};

class MaxPooling : public model::Pooling {
 public:
  MaxPooling(const MaxPoolConfig&, const Context& ctx) : dim_(ctx.dim) {}
  Var forward(const Var& x, const Tensor& mask) override {
    check_sequence("pooling/max", x, mask, dim_);
    if (every_step_real(mask)) return ops::max(x, 1);
    const nn::Padding pad = nn::padding_of(mask);
    const Var m = ops::max(ops::masked_fill(x, pad.hidden, std::numeric_limits<float>::lowest()), 1);  // [B, H]
    return m * Var(pad.any_real);  // sequences without a real step: lowest * 0 = 0
  }
  std::int64_t out_dim() const override { return dim_; }

 private:
  std::int64_t dim_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Pooling, max, attnlab::plugins::MaxPooling, attnlab::plugins::MaxPoolConfig,
                        "the elementwise maximum over the real steps");
