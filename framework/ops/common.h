// Helpers shared by the op implementations (not part of the public op API).
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/error.h"

#include <string_view>

namespace attnlab::ops {

using autograd::Grads;
using autograd::Var;
using core::DType;
using core::Shape;
using core::Tensor;

/// Throws DTypeError unless v holds f32.
inline void require_f32(std::string_view op, const Var& v, std::string_view what = "input") {
  if (!v.defined()) throw Error(fmt::format("{}: {} is undefined", op, what));
  if (v.value().dtype() != DType::f32)
    throw DTypeError(std::string(op),
                     fmt::format("{} must be f32, got {} {}", what, core::name_of(v.value().dtype()), v.shape().str()));
}

/// Throws DTypeError unless t holds i64.
inline void require_i64(std::string_view op, const Tensor& t, std::string_view what = "indices") {
  if (!t.defined()) throw Error(fmt::format("{}: {} is undefined", op, what));
  if (t.dtype() != DType::i64)
    throw DTypeError(std::string(op),
                     fmt::format("{} must be i64, got {} {}", what, core::name_of(t.dtype()), t.shape().str()));
}

/// Normalises an axis for `shape`, or throws ShapeError naming the op.
inline int normalize_axis(std::string_view op, const Shape& shape, int axis) {
  const int a = shape.axis(axis);
  if (a < 0) throw ShapeError(std::string(op), fmt::format("axis {} out of range for shape {}", axis, shape.str()));
  return a;
}

}  // namespace attnlab::ops
