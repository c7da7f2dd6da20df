// Inverted dropout (Srivastava et al., 2014), a native kernel.
//
//   x: any shape -> y: the same shape
//   training and p > 0:  y_i = x_i * m_i / (1 - p),  m_i = 0 with probability p, else 1
//   otherwise:           y = x (the result shares x's buffer; backward passes gy through)
//
// The mask is drawn from `rng`, which advances by exactly one rng.uniform() per element, in row-major
// order: element i is dropped iff its draw is < p (the same test as rng.bernoulli(p)). So the same
// seed gives the same mask on every machine, and a test can redraw it independently. Eval mode and
// p == 0 draw nothing. The backward multiplies gy by the saved mask (values 0 or 1/(1-p)).
//
// Throws: attnlab::Error when p is not in [0, 1) (checked in eval mode too), DTypeError (x not f32).
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/rng.h"

namespace attnlab::ops {

using autograd::Var;

Var dropout(const Var& x, float p, bool training, core::Rng& rng);

}  // namespace attnlab::ops
