#include "framework/ops/eltwise.h"
#include "framework/ops/reference/eltwise.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  v.push_back(unary_case("relu", &ops::relu, ref::relu<double>, ref::relu_d<double>,
                         InputSpec::custom({3, 5, 7}, away_from_zero())));
  v.push_back(unary_case("gelu", &ops::gelu, ref::gelu<double>, ref::gelu_d<double>, InputSpec::real({4, 33}, -3, 3)));
  v.push_back(
      unary_case("tanh", &ops::tanh, ref::tanh_f<double>, ref::tanh_d<double>, InputSpec::real({2, 3, 17}, -3, 3)));
  v.push_back(unary_case("sigmoid", &ops::sigmoid, ref::sigmoid<double>, ref::sigmoid_d<double>,
                         InputSpec::real({129}, -6, 6)));
  v.push_back(unary_case("exp", &ops::exp, ref::exp_f<double>, ref::exp_f<double>, InputSpec::real({5, 6}, -2, 2)));
  v.push_back(unary_case("log", &ops::log, ref::log_f<double>, ref::log_d<double>, InputSpec::real({5, 6}, 0.2, 3)));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
