// softmax and log_softmax over one axis, on oneDNN's softmax_v2 primitive (forward and backward).
//
// Any shape of rank >= 1 in, the same shape out. The axis may be negative (-1 is the last). The
// forward runs with prop_kind::forward_training; the backward is a softmax_v2_backward built with
// the forward pd as its hint and reads the saved output (dst), never the input:
//   softmax:      gx = y * (gy - sum_axis(gy * y))
//   log_softmax:  gx = gy - exp(y) * sum_axis(gy)
// Kernels are cached per (outer, axis extent, inner) after collapsing the dims before and after the
// axis, so every shape with the same collapsed extents shares one primitive.
//
// Throws: DTypeError (x not f32), ShapeError (axis out of range, including any axis of a rank-0 x),
// BackendError (oneDNN refused the shape).
#pragma once

#include "framework/autograd/var.h"

namespace attnlab::ops {

using autograd::Var;

/// exp(x - max) / sum(exp(x - max)) along `axis` (oneDNN softmax_accurate).
Var softmax(const Var& x, int axis = -1);
/// x - max - log(sum(exp(x - max))) along `axis` (oneDNN softmax_log).
Var log_softmax(const Var& x, int axis = -1);

}  // namespace attnlab::ops
