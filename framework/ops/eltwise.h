// Elementwise activations on oneDNN's eltwise primitives (forward and backward).
// Any shape in, the same shape out. Where oneDNN offers a "use dst for backward" variant (relu,
// tanh, sigmoid, exp), backward reads the saved output rather than the input.
#pragma once

#include "framework/autograd/var.h"

namespace attnlab::ops {

using autograd::Var;

Var relu(const Var& x);
/// GELU with the exact erf form (PyTorch's default).
Var gelu(const Var& x);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var exp(const Var& x);
/// Natural log; inputs must be positive (non-positive inputs give -inf/nan, as in PyTorch).
Var log(const Var& x);

}  // namespace attnlab::ops
