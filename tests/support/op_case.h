// Op test cases for the three-tier op checks (STYLE.md section 9).
//
// A file tests/framework/ops/cases_<group>.cpp describes each op once, with its inputs, the real
// op, and its reference forward/backward (framework/ops/reference). The generic runner in
// test_op_tiers.cpp then checks, for every case:
//   tier 1: the real op's forward and backward (oneDNN or native, f32) against the reference
//           evaluated on the same values in double;
//   tier 2: the reference backward against central finite differences of the reference forward
//           in double;
//   tier 3: every op in ops::op_table() has a case, and every op with a backward has a case
//           whose backward is checked.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/rng.h"
#include "framework/ops/reference/array.h"
#include "framework/ops/reference/eltwise.h"

#include <functional>
#include <string>
#include <vector>

namespace attnlab::testing {

using autograd::Var;
using core::Shape;
using RefArray = ops::reference::Array<double>;

struct InputSpec {
  Shape shape;
  bool differentiable = true;  // gradients are checked for this input
  bool integer = false;        // an i64 tensor (indices, labels, lengths)
  double lo = -1.0, hi = 1.0;  // uniform range; integers are drawn from [lo, hi)
  /// Custom values (e.g. kept away from a kink, or distinct for max); overrides lo/hi.
  std::function<std::vector<double>(const Shape&, core::Rng&)> gen;

  static InputSpec real(Shape s, double lo = -1.0, double hi = 1.0) { return {std::move(s), true, false, lo, hi, {}}; }
  /// A float input that is not differentiated (e.g. a mask or a target).
  static InputSpec constant(Shape s, double lo = -1.0, double hi = 1.0) {
    return {std::move(s), false, false, lo, hi, {}};
  }
  static InputSpec index(Shape s, std::int64_t lo, std::int64_t hi) {
    return {std::move(s), false, true, static_cast<double>(lo), static_cast<double>(hi), {}};
  }
  static InputSpec custom(Shape s, std::function<std::vector<double>(const Shape&, core::Rng&)> g, bool diff = true) {
    return {std::move(s), diff, false, 0.0, 0.0, std::move(g)};
  }
};

/// Values uniform in ±[lo, hi]: keeps inputs off the kink at 0 (relu, abs, max with zero).
std::function<std::vector<double>(const Shape&, core::Rng&)> away_from_zero(double lo = 0.1, double hi = 1.0);
/// Distinct values (a shuffled, jittered grid in [-1, 1]): no ties for max/argmax.
std::function<std::vector<double>(const Shape&, core::Rng&)> distinct();

struct OpCase {
  std::string op;       // the name in ops::op_table()
  std::string variant;  // what this case varies, e.g. "axis=1 [2,3,4]"
  std::vector<InputSpec> inputs;
  /// The real op on Vars (inputs in the order of `inputs`).
  std::function<Var(const std::vector<Var>&)> run;
  std::function<RefArray(const std::vector<RefArray>&)> forward;
  /// Gradients for every input given the output gradient (non-differentiable inputs: any value).
  /// Leave empty for an op without a backward.
  std::function<std::vector<RefArray>(const std::vector<RefArray>&, const RefArray& gy)> backward;
  double rtol = 1e-4, atol = 1e-5;      // tier 1: |got - want| <= atol + rtol * |want|
  double fd_eps = 1e-6, fd_tol = 1e-6;  // tier 2: |a - n| <= fd_tol * max(|a|, |n|, 1)
  int max_coords = 64;                  // tier 2 samples at most this many coordinates per input
};

/// An elementwise unary op: y = f(x), dy/dx = d(x), with the reference map/map_grad loops.
template <class F, class D>
OpCase unary_case(std::string op, Var (*fn)(const Var&), F f, D d, InputSpec in) {
  OpCase c;
  c.op = std::move(op);
  c.variant = in.shape.str();
  c.inputs = {std::move(in)};
  c.run = [fn](const std::vector<Var>& x) { return fn(x[0]); };
  c.forward = [f](const std::vector<RefArray>& x) { return ops::reference::map(x[0], f); };
  c.backward = [d](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{ops::reference::map_grad(x[0], gy, d)};
  };
  return c;
}

/// All cases from every cases_*.cpp (built on first call, after static initialisation).
const std::vector<OpCase>& op_cases();

struct OpCaseRegistrar {
  explicit OpCaseRegistrar(std::vector<OpCase> (*make)());
};

}  // namespace attnlab::testing

#define ATTNLAB_OP_CASES_CAT2(a, b) a##b
#define ATTNLAB_OP_CASES_CAT(a, b) ATTNLAB_OP_CASES_CAT2(a, b)
/// ATTNLAB_OP_CASES(make_eltwise_cases); where make_eltwise_cases returns std::vector<OpCase>.
#define ATTNLAB_OP_CASES(fn) \
  static const ::attnlab::testing::OpCaseRegistrar ATTNLAB_OP_CASES_CAT(attnlab_cases_, __LINE__) { &fn }
