#include "framework/ops/binary.h"
#include "framework/ops/reference/binary.h"
#include "framework/ops/reference/eltwise.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

struct Binary {
  const char* op;
  Var (*fn)(const Var&, const Var&);
  double (*f)(double, double);
  double (*da)(double, double);
  double (*db)(double, double);
};

const Binary kBinaries[] = {
    {"add", &ops::add, [](double a, double b) { return a + b; }, [](double, double) { return 1.0; },
     [](double, double) { return 1.0; }},
    {"sub", &ops::sub, [](double a, double b) { return a - b; }, [](double, double) { return 1.0; },
     [](double, double) { return -1.0; }},
    {"mul", &ops::mul, [](double a, double b) { return a * b; }, [](double, double b) { return b; },
     [](double a, double) { return a; }},
    {"div", &ops::div, [](double a, double b) { return a / b; }, [](double, double b) { return 1.0 / b; },
     [](double a, double b) { return -a / (b * b); }},
};

// b is kept away from zero for every op (div needs it; the others do not mind).
OpCase binary(const Binary& o, Shape a, Shape b, std::string note = "") {
  OpCase c;
  c.op = o.op;
  c.variant = fmt::format("{} {} {}{}", a.str(), o.op, b.str(), note);
  const bool large = std::max(a.numel(), b.numel()) > 10000;
  c.inputs = {InputSpec::real(std::move(a)), InputSpec::custom(std::move(b), away_from_zero(0.5, 1.5))};
  c.run = [fn = o.fn](const std::vector<Var>& x) { return fn(x[0], x[1]); };
  c.forward = [f = o.f](const std::vector<RefArray>& x) { return ref::broadcast_apply(x[0], x[1], f); };
  c.backward = [da = o.da, db = o.db](const std::vector<RefArray>& x, const RefArray& gy) {
    return ref::binary_grads(x[0], x[1], gy, da, db);
  };
  if (large) c.max_coords = 16;
  return c;
}

// A float operand of an operator: one Var input, the constant on the given side.
OpCase scalar_operator(const Binary& o, std::string text, Var (*run)(const Var&), bool constant_left, double k) {
  OpCase c;
  c.op = o.op;
  c.variant = "operator " + text;
  c.inputs = {InputSpec::custom({3, 4}, away_from_zero(0.5, 1.5))};
  c.run = [run](const std::vector<Var>& x) { return run(x[0]); };
  const RefArray kr(Shape{}, k);
  c.forward = [f = o.f, constant_left, kr](const std::vector<RefArray>& x) {
    return constant_left ? ref::broadcast_apply(kr, x[0], f) : ref::broadcast_apply(x[0], kr, f);
  };
  c.backward = [o, constant_left, kr](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{constant_left ? ref::binary_grads(kr, x[0], gy, o.da, o.db)[1]
                                               : ref::binary_grads(x[0], kr, gy, o.da, o.db)[0]};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (const auto& o : kBinaries) {
    v.push_back(binary(o, {3, 4, 5}, {3, 4, 5}, " (same shape)"));
    v.push_back(binary(o, {2, 3, 8}, {8}, " ([B,T,H] with [H])"));
    v.push_back(binary(o, {2, 1, 8}, {2, 5, 1}, " (both sides broadcast)"));
    v.push_back(binary(o, {8}, {2, 3, 8}, " (left side broadcast)"));
    v.push_back(binary(o, {1, 3, 1}, {2, 3, 4}, " (left side broadcast, middle kept)"));
    v.push_back(binary(o, {4, 5}, {}, " (rank-0 right)"));
    v.push_back(binary(o, {}, {4, 5}, " (rank-0 left)"));
    v.push_back(binary(o, {}, {}, " (rank-0 both)"));
    v.push_back(binary(o, {2, 3, 1, 4}, {3, 5, 1}, " (ranks differ, both broadcast)"));
    v.push_back(binary(o, {2, 3, 4, 5, 6}, {2, 1, 4, 1, 6}, " (oneDNN has only its reference loop)"));
    v.push_back(binary(o, {64, 33, 40}, {33, 1}, " (large, parallel rows)"));
    v.push_back(binary(o, {64, 1, 40}, {33, 1}, " (large, both broadcast)"));
    v.push_back(binary(o, {3, 20000}, {20000}, " (large broadcast operand)"));
  }
  const auto& add = kBinaries[0];
  const auto& sub = kBinaries[1];
  const auto& mul = kBinaries[2];
  const auto& div = kBinaries[3];
  v.push_back(scalar_operator(
      add, "x + 2.f", [](const Var& x) { return x + 2.f; }, false, 2.0));
  v.push_back(scalar_operator(
      add, "2.f + x", [](const Var& x) { return 2.f + x; }, true, 2.0));
  v.push_back(scalar_operator(
      sub, "x - 2.f", [](const Var& x) { return x - 2.f; }, false, 2.0));
  v.push_back(scalar_operator(
      sub, "2.f - x", [](const Var& x) { return 2.f - x; }, true, 2.0));
  v.push_back(scalar_operator(
      mul, "x * 3.f", [](const Var& x) { return x * 3.f; }, false, 3.0));
  v.push_back(scalar_operator(
      mul, "3.f * x", [](const Var& x) { return 3.f * x; }, true, 3.0));
  v.push_back(scalar_operator(
      div, "x / 4.f", [](const Var& x) { return x / 4.f; }, false, 4.0));
  v.push_back(scalar_operator(
      div, "2.f / x", [](const Var& x) { return 2.f / x; }, true, 2.0));

  v.push_back(unary_case(
      "neg", &ops::neg, [](double x) { return -x; }, [](double) { return -1.0; }, InputSpec::real({3, 7})));
  v.push_back(unary_case(
      "neg", [](const Var& x) { return -x; }, [](double x) { return -x; }, [](double) { return -1.0; },
      InputSpec::real({2, 3, 5})));
  v.push_back(unary_case(
      "square", &ops::square, [](double x) { return x * x; }, [](double x) { return 2 * x; },
      InputSpec::real({4, 9}, -2, 2)));
  v.push_back(unary_case(
      "sqrt", &ops::sqrt, [](double x) { return std::sqrt(x); }, [](double x) { return 0.5 / std::sqrt(x); },
      InputSpec::real({5, 6}, 0.2, 3)));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
