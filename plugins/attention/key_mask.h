// Masks and checks shared by the attention and pooling plugins (header-only, not a plugin).
//
// Convention (PLUGINS.md): mask f32 [B, T], 1 = a real step, 0 = padding. An "allowed" tensor is
// the same idea broadcast against a score tensor: 1 where a query may look at a key, 0 elsewhere.
//
// Rows without any allowed key. A softmax over a row whose keys are all -inf is NaN. Here the
// disallowed scores are filled with a large FINITE negative value (kMaskedScore) instead, so the
// softmax of such a row is uniform and finite, and the weights are then multiplied by `allowed`:
// rows with at least one allowed key are unchanged (the filled entries already underflow to exactly
// 0), rows without any get all-zero weights, hence a zero output and zero gradients, never NaN.
#pragma once

#include "framework/model/families.h"
#include "framework/ops/ops.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

/// Fill value of disallowed scores before a softmax (see the top of this file).
inline constexpr float kMaskedScore = -1e30f;

/// Throws ShapeError naming `op` unless x is [B, T, dim] (dim checked when > 0) and the mask, when
/// defined, is [B, T]; DTypeError unless the mask is f32.
inline void check_sequence(const std::string& op, const Var& x, const Tensor& mask, std::int64_t dim) {
  if (x.rank() != 3 || (dim > 0 && x.shape()[2] != dim))
    throw ShapeError(op, fmt::format("expected x [B, T, {}], got {}", dim > 0 ? std::to_string(dim) : "dim", x.shape().str()));
  if (!mask.defined()) return;
  if (mask.dtype() != core::DType::f32)
    throw DTypeError(op, fmt::format("the mask must be f32 [B, T] (1 = real step), got {} {}", core::name_of(mask.dtype()),
                                     mask.shape().str()));
  if (mask.shape() != core::Shape{x.shape()[0], x.shape()[1]})
    throw ShapeError(op, fmt::format("mask {} does not match x {}: expected [B, T] = [{}, {}]", mask.shape().str(), x.shape().str(),
                                     x.shape()[0], x.shape()[1]));
}

/// Throws ShapeError naming `op` unless `query` is defined and [batch, query_dim].
inline void check_query(const std::string& op, const Var& query, std::int64_t batch, std::int64_t query_dim) {
  if (!query.defined())
    throw ShapeError(op, fmt::format("needs a query [B, {}] (a user or target-item embedding), got none", query_dim));
  if (query.shape() != core::Shape{batch, query_dim})
    throw ShapeError(op, fmt::format("expected the query [B, query_dim] = [{}, {}], got {}", batch, query_dim, query.shape().str()));
}

/// True when the mask is undefined or marks every step real: masking is then the identity, and a
/// plugin may skip it (a pass over the activations saved, the same result).
inline bool every_step_real(const Tensor& mask) {
  if (!mask.defined()) return true;
  const float* m = mask.f32();
  const std::int64_t n = mask.numel();
  bool all = true;
  for (std::int64_t i = 0; i < n; ++i) all &= m[i] != 0.f;
  return all;
}

/// The mask [B, T] as [B, 1, ..., 1, T] of the given rank, to broadcast against scores [B, ..., T].
inline Tensor key_mask(const Tensor& mask, int rank) {
  std::vector<std::int64_t> d(static_cast<std::size_t>(rank), 1);
  d.front() = mask.shape()[0];
  d.back() = mask.shape()[1];
  return mask.reshape(core::Shape(std::move(d)));
}

/// softmax over the last axis of `scores`, where `allowed` (f32, broadcasting to scores' shape,
/// 1 = may attend) gives the disallowed keys exactly zero weight; rows without an allowed key get
/// all-zero weights (see the top of this file). An undefined `allowed` is a plain softmax.
inline Var masked_softmax(const Var& scores, const Tensor& allowed) {
  if (!allowed.defined()) return ops::softmax(scores, -1);
  Tensor blocked = Tensor::empty(allowed.shape());
  const float* a = allowed.f32();
  float* p = blocked.f32();
  for (std::int64_t i = 0; i < allowed.numel(); ++i) p[i] = a[i] == 0.f ? 1.f : 0.f;
  return ops::softmax(ops::masked_fill(scores, blocked, kMaskedScore), -1) * Var(allowed);
}

/// Σ_t w[b, t] x[b, t, :]: weights [B, T], x [B, T, H] -> [B, H].
inline Var weighted_sum(const Var& w, const Var& x) { return ops::squeeze(ops::matmul(ops::unsqueeze(w, 1), x), 1); }

}  // namespace attnlab::plugins
