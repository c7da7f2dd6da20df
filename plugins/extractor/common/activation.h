// Activation names shared by the extractor plugins (header-only, not a plugin). A config field
// declares .choices({"relu", "gelu", "tanh", "sigmoid", "none"}) or a subset; the binder has
// already rejected any other name, so the fallbacks below are never reached from a spec.
#pragma once

#include "framework/ops/ops.h"

#include <string>

namespace attnlab::plugins {

/// The fused activation of ops::linear for a configured name.
inline ops::Activation activation_of(const std::string& name) {
  if (name == "relu") return ops::Activation::relu;
  if (name == "gelu") return ops::Activation::gelu;
  if (name == "tanh") return ops::Activation::tanh;
  if (name == "sigmoid") return ops::Activation::sigmoid;
  return ops::Activation::none;
}

/// Applies a configured activation: x -> act(x), same shape.
inline autograd::Var activate(const autograd::Var& x, ops::Activation a) {
  switch (a) {
    case ops::Activation::relu:
      return ops::relu(x);
    case ops::Activation::gelu:
      return ops::gelu(x);
    case ops::Activation::tanh:
      return ops::tanh(x);
    case ops::Activation::sigmoid:
      return ops::sigmoid(x);
    case ops::Activation::none:
      break;
  }
  return x;
}

}  // namespace attnlab::plugins
