#include "framework/ops/eltwise.h"
#include "framework/ops/reference/eltwise.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

template <class F, class D>
OpCase unary(std::string op, Var (*fn)(const Var&), F f, D d, InputSpec in) {
  OpCase c;
  c.op = std::move(op);
  c.variant = in.shape.str();
  c.inputs = {std::move(in)};
  c.run = [fn](const std::vector<Var>& x) { return fn(x[0]); };
  c.forward = [f](const std::vector<RefArray>& x) { return ref::map(x[0], f); };
  c.backward = [d](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{ref::map_grad(x[0], gy, d)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  v.push_back(unary("relu", &ops::relu, ref::relu<double>, ref::relu_d<double>, InputSpec::custom({3, 5, 7}, away_from_zero())));
  v.push_back(unary("gelu", &ops::gelu, ref::gelu<double>, ref::gelu_d<double>, InputSpec::real({4, 33}, -3, 3)));
  v.push_back(unary("tanh", &ops::tanh, ref::tanh_f<double>, ref::tanh_d<double>, InputSpec::real({2, 3, 17}, -3, 3)));
  v.push_back(unary("sigmoid", &ops::sigmoid, ref::sigmoid<double>, ref::sigmoid_d<double>, InputSpec::real({129}, -6, 6)));
  v.push_back(unary("exp", &ops::exp, ref::exp_f<double>, ref::exp_f<double>, InputSpec::real({5, 6}, -2, 2)));
  v.push_back(unary("log", &ops::log, ref::log_f<double>, ref::log_d<double>, InputSpec::real({5, 6}, 0.2, 3)));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
