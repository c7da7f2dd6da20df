#include "framework/ops/reference/softmax.h"
#include "framework/ops/softmax.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

OpCase make_case(bool log, Shape s, int axis) {
  OpCase c;
  c.op = log ? "log_softmax" : "softmax";
  c.variant = fmt::format("axis={} {}", axis, s.str());
  const int a = s.axis(axis);
  c.inputs = {InputSpec::real(s, -3, 3)};
  c.run = [log, axis](const std::vector<Var>& x) {
    return log ? ops::log_softmax(x[0], axis) : ops::softmax(x[0], axis);
  };
  c.forward = [log, a](const std::vector<RefArray>& x) {
    return log ? ref::log_softmax(x[0], a) : ref::softmax(x[0], a);
  };
  c.backward = [log, a](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{log ? ref::log_softmax_backward(x[0], gy, a) : ref::softmax_backward(x[0], gy, a)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (bool log : {false, true}) {
    for (int axis : {-1, 0, 1}) v.push_back(make_case(log, {3, 4, 5}, axis));
    v.push_back(make_case(log, {2, 7, 33}, -1));
    v.push_back(make_case(log, {2, 3, 4, 5}, 2));
    v.push_back(make_case(log, {6, 129}, 1));
    v.push_back(make_case(log, {11}, 0));
  }
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
