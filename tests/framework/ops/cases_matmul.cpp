#include "framework/ops/matmul.h"
#include "framework/ops/reference/eltwise.h"
#include "framework/ops/reference/matmul.h"
#include "tests/support/op_case.h"

#include <optional>

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;
using ops::Activation;

OpCase mm(Shape a, Shape b, bool ta, bool tb) {
  OpCase c;
  c.op = "matmul";
  c.variant = fmt::format("a {}{} b {}{}", a.str(), ta ? "ᵀ" : "", b.str(), tb ? "ᵀ" : "");
  c.inputs = {InputSpec::real(std::move(a)), InputSpec::real(std::move(b))};
  c.run = [ta, tb](const std::vector<Var>& x) { return ops::matmul(x[0], x[1], ta, tb); };
  c.forward = [ta, tb](const std::vector<RefArray>& x) { return ref::matmul(x[0], x[1], ta, tb); };
  c.backward = [ta, tb](const std::vector<RefArray>& x, const RefArray& gy) {
    auto [da, db] = ref::matmul_backward(x[0], x[1], ta, tb, gy);
    return std::vector<RefArray>{std::move(da), std::move(db)};
  };
  return c;
}

double act_f(Activation act, double z) {
  switch (act) {
    case Activation::relu:
      return ref::relu(z);
    case Activation::tanh:
      return ref::tanh_f(z);
    case Activation::sigmoid:
      return ref::sigmoid(z);
    case Activation::gelu:
      return ref::gelu(z);
    case Activation::none:
      break;
  }
  return z;
}

double act_d(Activation act, double z) {
  switch (act) {
    case Activation::relu:
      return ref::relu_d(z);
    case Activation::tanh:
      return ref::tanh_d(z);
    case Activation::sigmoid:
      return ref::sigmoid_d(z);
    case Activation::gelu:
      return ref::gelu_d(z);
    case Activation::none:
      break;
  }
  return 1.0;
}

constexpr const char* kActNames[] = {"none", "relu", "tanh", "sigmoid", "gelu"};

// linear(x, w[, b], act) with x of shape `x`, w [out, x[-1]]; `bias` is the bias input spec or empty.
OpCase lin(Shape x, std::int64_t out, Activation act, std::optional<InputSpec> bias, double lo = -1.0,
           double hi = 1.0) {
  OpCase c;
  c.op = "linear";
  const bool has_bias = bias.has_value();
  c.variant =
      fmt::format("x {} out {} {} {}", x.str(), out, has_bias ? "bias" : "no bias", kActNames[static_cast<int>(act)]);
  const std::int64_t in = x[-1];
  c.inputs = {InputSpec::real(std::move(x), lo, hi), InputSpec::real(Shape{out, in}, lo, hi)};
  if (has_bias) c.inputs.push_back(std::move(*bias));
  c.run = [act, has_bias](const std::vector<Var>& v) { return ops::linear(v[0], v[1], has_bias ? v[2] : Var(), act); };
  auto bias_of = [has_bias](const std::vector<RefArray>& v) { return has_bias ? v[2] : RefArray(); };
  c.forward = [act, bias_of](const std::vector<RefArray>& v) {
    return ref::map(ref::linear(v[0], v[1], bias_of(v)), [act](double z) { return act_f(act, z); });
  };
  c.backward = [act, has_bias, bias_of](const std::vector<RefArray>& v, const RefArray& gy) {
    const RefArray b = bias_of(v);
    const RefArray gz = ref::map_grad(ref::linear(v[0], v[1], b), gy, [act](double z) { return act_d(act, z); });
    auto grads = ref::linear_backward(v[0], v[1], b, gz);
    if (!has_bias) grads.pop_back();
    return grads;
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  v.push_back(mm({5, 7}, {7, 3}, false, false));
  v.push_back(mm({1, 6}, {6, 1}, false, false));
  v.push_back(mm({2, 4, 6}, {2, 6, 3}, false, false));
  v.push_back(mm({2, 3, 4, 5}, {2, 3, 5, 2}, false, false));
  // All four transpose combinations, 2-D and batched.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      v.push_back(mm(ta ? Shape{6, 4} : Shape{4, 6}, tb ? Shape{3, 6} : Shape{6, 3}, ta, tb));
      v.push_back(mm(ta ? Shape{3, 6, 4} : Shape{3, 4, 6}, tb ? Shape{3, 5, 6} : Shape{3, 6, 5}, ta, tb));
    }
  // A rank-2 b shared over a's batch: flattened (untransposed a) and per batch element (transposed a).
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      v.push_back(mm(ta ? Shape{3, 5, 4} : Shape{3, 4, 5}, tb ? Shape{2, 5} : Shape{5, 2}, ta, tb));
  v.push_back(mm({2, 2, 3, 4}, {4, 5}, false, false));
  v.push_back(mm({2, 2, 4, 3}, {5, 4}, true, true));

  v.push_back(lin({4, 6}, 3, Activation::none, std::nullopt));
  v.push_back(lin({4, 6}, 3, Activation::none, InputSpec::real({3})));
  v.push_back(lin({2, 3, 5}, 4, Activation::none, InputSpec::real({4})));
  v.push_back(lin({5}, 3, Activation::none, InputSpec::real({3})));
  // relu: |x · w| <= 4 · 0.25 = 1 while |b| >= 1.3, so every pre-activation is at least 0.3 from the kink.
  v.push_back(lin({5, 4}, 6, Activation::relu, InputSpec::custom({6}, away_from_zero(1.3, 2.0)), -0.5, 0.5));
  v.push_back(lin({2, 3, 4}, 6, Activation::relu, InputSpec::custom({6}, away_from_zero(1.3, 2.0)), -0.5, 0.5));
  v.push_back(lin({4, 6}, 5, Activation::tanh, InputSpec::real({5})));
  v.push_back(lin({2, 3, 6}, 5, Activation::tanh, std::nullopt));
  v.push_back(lin({4, 6}, 5, Activation::sigmoid, InputSpec::real({5}, -2, 2)));
  v.push_back(lin({2, 3, 6}, 5, Activation::sigmoid, InputSpec::real({5})));
  v.push_back(lin({4, 6}, 5, Activation::gelu, InputSpec::real({5})));
  v.push_back(lin({2, 3, 6}, 5, Activation::gelu, std::nullopt));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
