#include "framework/nn/masking.h"

#include "framework/core/error.h"
#include "framework/ops/ops.h"

#include <fmt/format.h>

#include <vector>

namespace attnlab::nn {

using core::Shape;
using core::Tensor;

bool every_step_real(const Tensor& real) {
  if (!real.defined()) return true;
  const float* m = real.f32();
  bool all = true;
  for (std::int64_t i = 0; i < real.numel(); ++i) all &= m[i] != 0.f;
  return all;
}

Padding padding_of(const Tensor& real) {
  const std::int64_t B = real.shape()[0], T = real.shape()[1];
  Padding p{Tensor::empty(Shape{B, T, 1}), Tensor::zeros(Shape{B, 1})};
  const float* m = real.f32();
  float* hidden = p.hidden.f32();
  float* any = p.any_real.f32();
  for (std::int64_t i = 0; i < B * T; ++i) {
    hidden[i] = m[i] != 0.f ? 0.f : 1.f;
    if (m[i] != 0.f) any[i / T] = 1.f;
  }
  return p;
}

bool Mask::hides_nothing() const { return !causal && every_step_real(real); }

Tensor Mask::visible(const Shape& s) const {
  if (s.rank() < 2)
    throw ShapeError("masked_softmax", fmt::format("scores must be [B, Tk] or [B, ..., Tq, Tk], got {}", s.str()));
  if (causal && s.rank() < 3)
    throw ShapeError("masked_softmax",
                     fmt::format("a causal mask needs scores [B, ..., Tq, Tk] (queries and keys), got {}", s.str()));
  const std::int64_t B = s[0], Tk = s[-1];
  const std::int64_t Tq = causal ? s[-2] : 1;
  if (real.defined()) {
    if (real.dtype() != core::DType::f32)
      throw DTypeError("masked_softmax", fmt::format("key_mask (the padding mask) must be f32 [B, Tk], got {} {}",
                                                     core::name_of(real.dtype()), real.shape().str()));
    if (real.shape() != Shape{B, Tk})
      throw ShapeError("masked_softmax",
                       fmt::format("key_mask (the padding mask) must be [B, Tk] = [{}, {}] for scores {}, got {}", B,
                                   Tk, s.str(), real.shape().str()));
  }
  const std::int64_t Bm = real.defined() ? B : 1;
  std::vector<std::int64_t> dims(static_cast<std::size_t>(s.rank()), 1);
  dims.front() = Bm;
  if (s.rank() >= 3) dims[dims.size() - 2] = Tq;
  dims.back() = Tk;
  Tensor v = Tensor::empty(Shape(dims));
  float* pv = v.f32();
  const float* pr = real.defined() ? real.f32() : nullptr;
  for (std::int64_t b = 0; b < Bm; ++b)
    for (std::int64_t i = 0; i < Tq; ++i)
      for (std::int64_t j = 0; j < Tk; ++j)
        pv[(b * Tq + i) * Tk + j] = (pr && pr[b * Tk + j] == 0.f) || (causal && j > i) ? 0.f : 1.f;
  return v;
}

autograd::Var masked_softmax(const autograd::Var& scores, const Mask& mask) {
  const Tensor visible = mask.visible(scores.shape());  // checks the shapes first
  if (mask.hides_nothing()) return ops::softmax(scores, -1);
  // hidden = 1 - visible; a row is alive when it sees a key.
  const Shape& vs = visible.shape();
  const std::int64_t Tk = vs[-1], rows = visible.numel() / Tk;
  std::vector<std::int64_t> row_dims(vs.begin(), vs.end());
  row_dims.back() = 1;
  Tensor hidden = Tensor::empty(vs), alive = Tensor::empty(Shape(row_dims));
  const float* pv = visible.f32();
  float* ph = hidden.f32();
  float* pa = alive.f32();
  bool any_dead = false;
  for (std::int64_t r = 0; r < rows; ++r) {
    float seen = 0.f;
    for (std::int64_t j = 0; j < Tk; ++j) {
      ph[r * Tk + j] = 1.f - pv[r * Tk + j];
      seen += pv[r * Tk + j];
    }
    pa[r] = seen > 0.f ? 1.f : 0.f;
    any_dead |= seen == 0.f;
  }
  autograd::Var w = ops::softmax(ops::masked_fill(scores, hidden, kMaskedScore), -1);
  return any_dead ? w * autograd::Var(alive) : w;
}

}  // namespace attnlab::nn
