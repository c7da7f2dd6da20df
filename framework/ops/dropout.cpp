#include "framework/ops/dropout.h"

#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace attnlab::ops {
namespace {

using Range = tbb::blocked_range<std::int64_t>;

// out_i = in_i * (u_i < p ? 0 : scale), with u_i from the key's splitmix64 stream (see dropout.h).
void apply_mask(const float* in, float* out, std::int64_t n, std::uint64_t key, float p, float scale) {
  tbb::parallel_for(Range(0, n, 16384), [=](const Range& rg) {
#pragma omp simd
    for (std::int64_t i = rg.begin(); i < rg.end(); ++i) {
      std::uint64_t z = key + static_cast<std::uint64_t>(i + 1) * 0x9e3779b97f4a7c15ULL;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      const float u = static_cast<float>(static_cast<std::int32_t>(z >> 40)) * 0x1.0p-24f;
      out[i] = in[i] * (u < p ? 0.f : scale);
    }
  });
}

}  // namespace

Var dropout(const Var& x, float p, bool training, core::Rng& rng) {
  require_f32("dropout", x);
  if (!(p >= 0.f && p < 1.f))
    throw Error(fmt::format("dropout: p must be in [0, 1), got {} (x {})", p, x.shape().str()));
  if (!training || p == 0.f)
    return autograd::make_result(x.value(), {x}, "dropout", [](const Tensor& gy, Grads& g) { g.add(0, gy); });

  const std::uint64_t key = rng.next_u64();
  const float scale = 1.f / (1.f - p);
  Tensor y = Tensor::empty(x.shape());
  apply_mask(x.value().f32(), y.f32(), y.numel(), key, p, scale);
  return autograd::make_result(y, {x}, "dropout", [key, p, scale](const Tensor& gy, Grads& g) {
    Tensor gx = Tensor::empty(gy.shape());
    apply_mask(gy.f32(), gx.f32(), gx.numel(), key, p, scale);
    g.add(0, std::move(gx));
  });
}

ATTNLAB_OP(dropout, true, "native", "inverted dropout with a reproducible mask keyed by the trial's Rng");

}  // namespace attnlab::ops
