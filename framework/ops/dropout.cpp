#include "framework/ops/dropout.h"

#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

namespace attnlab::ops {

Var dropout(const Var& x, float p, bool training, core::Rng& rng) {
  require_f32("dropout", x);
  if (!(p >= 0.f && p < 1.f))
    throw Error(fmt::format("dropout: p must be in [0, 1), got {} (x {})", p, x.shape().str()));
  if (!training || p == 0.f)
    return autograd::make_result(x.value(), {x}, "dropout", [](const Tensor& gy, Grads& g) { g.add(0, gy); });

  const std::int64_t n = x.value().numel();
  const float scale = 1.f / (1.f - p);
  Tensor mask = Tensor::empty(x.shape()), y = Tensor::empty(x.shape());
  const float* xp = x.value().f32();
  float* mp = mask.f32();
  float* yp = y.f32();
  // Serial on purpose: the mask is one sequential draw per element from the trial's generator.
  for (std::int64_t i = 0; i < n; ++i) {
    mp[i] = rng.uniform() < p ? 0.f : scale;
    yp[i] = xp[i] * mp[i];
  }
  return autograd::make_result(y, {x}, "dropout", [mask](const Tensor& gy, Grads& g) {
    Tensor gx = Tensor::empty(mask.shape());
    const float* m = mask.f32();
    const float* d = gy.f32();
    float* o = gx.f32();
    const std::int64_t len = mask.numel();
    for (std::int64_t i = 0; i < len; ++i) o[i] = d[i] * m[i];
    g.add(0, std::move(gx));
  });
}

ATTNLAB_OP(dropout, true, "native", "inverted dropout with a reproducible mask from the trial's Rng");

}  // namespace attnlab::ops
