// Inverted dropout (Srivastava et al., 2014), a native kernel (TBB, vectorised).
//
//   x: any shape -> y: the same shape
//   training and p > 0:  y_i = x_i * m_i / (1 - p),  m_i = 0 with probability p, else 1
//   otherwise:           y = x (the result shares x's buffer; backward passes gy through)
//
// The mask is reproducible and the same on every machine and thread count. In training with p > 0,
// the call advances `rng` by exactly one next_u64(), the key k; element i (row-major flat index) is
// then dropped iff u_i < p, where u_i = (splitmix64(k + (i + 1) * 0x9e3779b97f4a7c15) >> 40) * 2^-24
// in f32 (splitmix64's finaliser: the i-th output of a splitmix64 stream seeded with k). Elements are
// independent, so the mask is drawn in parallel, and the backward recomputes it from k instead of
// keeping it: nothing but the key is saved. Eval mode and p == 0 draw nothing.
//
// Throws: attnlab::Error when p is not in [0, 1) (checked in eval mode too), DTypeError (x not f32).
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/rng.h"

namespace attnlab::ops {

using autograd::Var;

Var dropout(const Var& x, float p, bool training, core::Rng& rng);

}  // namespace attnlab::ops
