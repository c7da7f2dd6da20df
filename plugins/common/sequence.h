// Checks and helpers shared by plugins of several families (extractors, attention, pooling) that
// read sequences (header-only, not a plugin; plugins/common/ holds what crosses families,
// plugins/<family>/common/ what one family shares).
//
// Convention (PLUGINS.md): mask f32 [B, T], 1 = a real step, 0 = padding. Masked softmax and the
// masks of attention (padding, causal) are nn/masking.h's.
#pragma once

#include "framework/model/families.h"
#include "framework/nn/masking.h"
#include "framework/ops/ops.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

using nn::every_step_real;
using nn::Mask;
using nn::masked_softmax;

/// Throws ShapeError naming `op` unless x is [B, T, dim] (dim checked when > 0) and the mask, when
/// defined, is [B, T]; DTypeError unless the mask is f32.
inline void check_sequence(const std::string& op, const Var& x, const Tensor& mask, std::int64_t dim) {
  if (x.rank() != 3 || (dim > 0 && x.shape()[2] != dim))
    throw ShapeError(
        op, fmt::format("expected x [B, T, {}], got {}", dim > 0 ? std::to_string(dim) : "dim", x.shape().str()));
  if (!mask.defined()) return;
  if (mask.dtype() != core::DType::f32)
    throw DTypeError(op, fmt::format("the mask must be f32 [B, T] (1 = real step), got {} {}",
                                     core::name_of(mask.dtype()), mask.shape().str()));
  if (mask.shape() != core::Shape{x.shape()[0], x.shape()[1]})
    throw ShapeError(op, fmt::format("mask {} does not match x {}: expected [B, T] = [{}, {}]", mask.shape().str(),
                                     x.shape().str(), x.shape()[0], x.shape()[1]));
}

/// Throws ShapeError naming `op` unless `query` is defined and [batch, query_dim].
inline void check_query(const std::string& op, const Var& query, std::int64_t batch, std::int64_t query_dim) {
  if (!query.defined())
    throw ShapeError(op, fmt::format("needs a query [B, {}] (a user or target-item embedding), got none", query_dim));
  if (query.shape() != core::Shape{batch, query_dim})
    throw ShapeError(
        op, fmt::format("expected the query [B, query_dim] = [{}, {}], got {}", batch, query_dim, query.shape().str()));
}

/// Σ_t w[b, t] x[b, t, :]: weights [B, T], x [B, T, H] -> [B, H].
inline Var weighted_sum(const Var& w, const Var& x) { return ops::squeeze(ops::matmul(ops::unsqueeze(w, 1), x), 1); }

}  // namespace attnlab::plugins
