#include "framework/ops/mask.h"

#include "framework/ops/binary.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <algorithm>

namespace attnlab::ops {
namespace {

template <class M>
void fill_row(const float* __restrict src, const M* __restrict mask, float* __restrict dst, std::int64_t n,
              float value) {
  for (std::int64_t j = 0; j < n; ++j) dst[j] = mask[j] != M(0) ? value : src[j];
}

// src where mask == 0, `value` where mask != 0; src has the full shape, mask broadcasts to it.
template <class M>
Tensor fill_where(const Tensor& src, const Tensor& mask, float value) {
  Tensor y = Tensor::empty(src.shape());
  const auto plan = detail::broadcast_plan(src.shape(), {src.shape(), mask.shape()});
  const bool mask_row = plan.strides[1].back() != 0;
  const float* ps = src.f32();
  const M* pm = mask.data<M>();
  float* py = y.f32();
  detail::for_each_row(plan, [=](std::int64_t o, const std::int64_t* in, std::int64_t n) {
    const M* m = pm + in[1];
    if (mask_row)
      fill_row(ps + o, m, py + o, n, value);
    else if (*m != M(0))
      std::fill(py + o, py + o + n, value);
    else
      std::copy(ps + o, ps + o + n, py + o);
  });
  return y;
}

Tensor fill_where(const Tensor& src, const Tensor& mask, float value) {
  return mask.dtype() == DType::f32 ? fill_where<float>(src, mask, value) : fill_where<std::int64_t>(src, mask, value);
}

}  // namespace

Var masked_fill(const Var& x, const Tensor& mask, float value) {
  require_f32("masked_fill", x);
  if (!mask.defined()) throw Error("masked_fill: mask is undefined");
  const Shape& xs = x.shape();
  const Shape& ms = mask.shape();
  bool ok = ms.rank() <= xs.rank();
  for (int i = 1; ok && i <= ms.rank(); ++i) ok = ms[-i] == 1 || ms[-i] == xs[-i];
  if (!ok) throw ShapeError("masked_fill", fmt::format("mask {} does not broadcast to x {}", ms.str(), xs.str()));
  return autograd::make_result(fill_where(x.value(), mask, value), {x}, "masked_fill",
                               [mask](const Tensor& gy, Grads& g) { g.add(0, fill_where(gy, mask, 0.f)); });
}

Tensor sequence_mask(const Tensor& lengths, std::int64_t max_len) {
  require_i64("sequence_mask", lengths, "lengths");
  if (lengths.rank() != 1)
    throw ShapeError("sequence_mask", fmt::format("lengths must be [B], got {}", lengths.shape().str()));
  if (max_len < 0) throw ShapeError("sequence_mask", fmt::format("max_len must be >= 0, got {}", max_len));
  const std::int64_t batch = lengths.shape()[0];
  const std::int64_t* len = lengths.i64();
  Tensor m = Tensor::zeros(Shape{batch, max_len});
  float* pm = m.f32();
  for (std::int64_t b = 0; b < batch; ++b) {
    if (len[b] < 0 || len[b] > max_len)
      throw IndexError("sequence_mask", fmt::format("lengths[{}] = {} is outside [0, {}] (lengths {})", b, len[b],
                                                    max_len, lengths.shape().str()));
    std::fill(pm + b * max_len, pm + b * max_len + len[b], 1.f);
  }
  return m;
}

Tensor causal_mask(std::int64_t len) {
  if (len < 0) throw ShapeError("causal_mask", fmt::format("len must be >= 0, got {}", len));
  Tensor m = Tensor::zeros(Shape{len, len});
  float* pm = m.f32();
  for (std::int64_t i = 0; i < len; ++i) std::fill(pm + i * len + i + 1, pm + (i + 1) * len, 1.f);
  return m;
}

ATTNLAB_OP(masked_fill, true, "native", "x with value where mask != 0 (mask broadcast to x)");

}  // namespace attnlab::ops
