// The table of core ops. Every differentiable op in framework/ops registers one line here, so
// tests can enumerate the ops and fail when any op lacks its oneDNN-vs-reference check or its
// finite-difference check (tests/framework/ops/test_op_tiers.cpp).
#pragma once

#include <string_view>
#include <vector>

namespace attnlab::ops {

struct OpInfo {
  std::string_view name;     // unique, lower_snake: "relu", "matmul", "softmax_cross_entropy"
  bool has_backward;         // false: recording it under grad mode throws NotDifferentiable
  std::string_view backend;  // "onednn" (a oneDNN primitive) or "native" (our own kernel)
  std::string_view summary;
};

/// All registered ops, sorted by name.
std::vector<OpInfo> op_table();

struct OpRegistrar {
  explicit OpRegistrar(OpInfo info);
};

}  // namespace attnlab::ops

#define ATTNLAB_OP_CAT2(a, b) a##b
#define ATTNLAB_OP_CAT(a, b) ATTNLAB_OP_CAT2(a, b)
/// Registers an op: ATTNLAB_OP(relu, true, "onednn", "max(x, 0)");
#define ATTNLAB_OP(name, has_backward, backend, summary)                                     \
  static const ::attnlab::ops::OpRegistrar ATTNLAB_OP_CAT(attnlab_op_registrar_, __LINE__) { \
    ::attnlab::ops::OpInfo { #name, has_backward, backend, summary }                         \
  }
