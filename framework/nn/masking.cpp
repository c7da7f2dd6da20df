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

void Mask::check(const Shape& s) const {
  if (s.rank() < 2)
    throw ShapeError("masked_softmax", fmt::format("scores must be [B, Tk] or [B, ..., Tq, Tk], got {}", s.str()));
  if (causal && s.rank() < 3)
    throw ShapeError("masked_softmax",
                     fmt::format("a causal mask needs scores [B, ..., Tq, Tk] (queries and keys), got {}", s.str()));
  if (!real.defined()) return;
  if (real.dtype() != core::DType::f32)
    throw DTypeError("masked_softmax", fmt::format("key_mask (the padding mask) must be f32 [B, Tk], got {} {}",
                                                   core::name_of(real.dtype()), real.shape().str()));
  if (real.shape() != Shape{s[0], s[-1]})
    throw ShapeError("masked_softmax",
                     fmt::format("key_mask (the padding mask) must be [B, Tk] = [{}, {}] for scores {}, got {}", s[0],
                                 s[-1], s.str(), real.shape().str()));
}

autograd::Var masked_softmax(const autograd::Var& scores, const Mask& mask) {
  const Shape& s = scores.shape();
  mask.check(s);
  if (mask.hides_nothing()) return ops::softmax(scores, -1);
  // hidden [B or 1, 1, ..., Tq or 1, Tk] (1 = hidden), broadcast over the middle dims, and the rows
  // that see a key, alive [.., 1], in one pass.
  const std::int64_t Tk = s[-1], Tq = mask.causal ? s[-2] : 1, Bm = mask.real.defined() ? s[0] : 1;
  std::vector<std::int64_t> dims(static_cast<std::size_t>(s.rank()), 1);
  dims.front() = Bm;
  if (s.rank() >= 3) dims[dims.size() - 2] = Tq;
  dims.back() = Tk;
  Tensor hidden = Tensor::empty(Shape(dims));
  dims.back() = 1;
  Tensor alive = Tensor::empty(Shape(dims));
  const float* pr = mask.real.defined() ? mask.real.f32() : nullptr;
  float* ph = hidden.f32();
  float* pa = alive.f32();
  bool any_dead = false;
  for (std::int64_t b = 0; b < Bm; ++b)
    for (std::int64_t i = 0; i < Tq; ++i) {
      float* row = ph + (b * Tq + i) * Tk;
      bool sees = false;
      for (std::int64_t j = 0; j < Tk; ++j) {
        const bool h = (pr && pr[b * Tk + j] == 0.f) || (mask.causal && j > i);
        row[j] = h ? 1.f : 0.f;
        sees = sees || !h;
      }
      pa[b * Tq + i] = sees ? 1.f : 0.f;
      any_dead = any_dead || !sees;
    }
  autograd::Var w = ops::softmax(ops::masked_fill(scores, hidden, kMaskedScore), -1);
  return any_dead ? w * autograd::Var(alive) : w;
}

}  // namespace attnlab::nn
