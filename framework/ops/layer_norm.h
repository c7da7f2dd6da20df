// Layer normalization (Ba et al., 2016) over the last axis, on oneDNN's layer_normalization
// primitive (forward and backward).
//
//   x: [..., C]  gamma: [C] or undefined  beta: [C] or undefined  ->  y: [..., C]
//   y = (x - mean) / sqrt(var + eps) * gamma + beta,  mean and var (biased, as in PyTorch) over C.
//
// An undefined gamma means no scale (use_scale off), an undefined beta no shift (use_shift off);
// PyTorch's elementwise_affine=False is both undefined. The leading dims are flattened to rows
// ([N, C], N = product of the leading dims); the kernel is cached per (N, C, flags, eps). The
// forward runs with forward_training and keeps its per-row mean and variance [N] for the backward,
// which is one layer_normalization_backward (forward pd as hint) giving dx, dgamma and dbeta.
//
// Throws: DTypeError (x, gamma or beta not f32), ShapeError (x of rank 0, gamma/beta not [C]),
// BackendError (oneDNN refused the shape).
#pragma once

#include "framework/autograd/var.h"

namespace attnlab::ops {

using autograd::Var;

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

}  // namespace attnlab::ops
