#include <boost/test/unit_test.hpp>

#include "framework/autograd/var.h"
#include "framework/onednn/onednn.h"
#include "framework/ops/eltwise.h"

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {
Var param(std::vector<float> v) { return Var(Tensor::from(v, Shape{static_cast<std::int64_t>(v.size())}), true); }
}  // namespace

BOOST_AUTO_TEST_SUITE(autograd_engine)

BOOST_AUTO_TEST_CASE(chain_rule_through_two_ops) {
  Var x = param({0.5f, -1.0f, 2.0f});
  Var y = ops::exp(ops::tanh(x));
  y.backward(Tensor::full(Shape{3}, 1.f));
  const auto g = x.grad().to_vector();
  const std::vector<float> xs{0.5f, -1.0f, 2.0f};
  for (std::size_t i = 0; i < 3; ++i) {
    const double t = std::tanh(xs[i]);
    BOOST_TEST(g[i] == std::exp(t) * (1 - t * t), boost::test_tools::tolerance(1e-5));
  }
}

BOOST_AUTO_TEST_CASE(leaf_gradients_accumulate_until_zero_grad) {
  Var x = param({1.f, 2.f});
  ops::exp(x).backward(Tensor::full(Shape{2}, 1.f));
  const auto once = x.grad().to_vector();
  ops::exp(x).backward(Tensor::full(Shape{2}, 1.f));
  const auto twice = x.grad().to_vector();
  BOOST_TEST(twice[1] == 2 * once[1], boost::test_tools::tolerance(1e-6f));
  x.zero_grad();
  BOOST_TEST(!x.grad().defined());
}

BOOST_AUTO_TEST_CASE(gradients_through_separate_paths) {
  // Each path on its own; their sum through a shared node is checked in test_ops once add exists.
  Var x = param({0.3f});
  ops::tanh(ops::exp(x)).backward(Tensor::full(Shape{1}, 1.f));
  const float gb = x.grad().item();
  x.zero_grad();
  ops::sigmoid(ops::exp(x)).backward(Tensor::full(Shape{1}, 1.f));
  const float gc = x.grad().item();
  const double e = std::exp(0.3), t = std::tanh(e), s = 1 / (1 + std::exp(-e));
  BOOST_TEST(gb == (1 - t * t) * e, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(gc == s * (1 - s) * e, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(no_grad_records_nothing) {
  Var x = param({1.f});
  Var y;
  {
    autograd::NoGrad ng;
    y = ops::exp(x);
  }
  BOOST_TEST(!y.requires_grad());
  BOOST_CHECK_THROW(y.backward(), AutogradError);
  BOOST_TEST(autograd::grad_enabled());
}

BOOST_AUTO_TEST_CASE(backward_twice_through_a_freed_graph_throws) {
  Var x = param({1.f});
  Var y = ops::exp(x);
  y.backward();
  BOOST_CHECK_THROW(y.backward(), AutogradError);
}

BOOST_AUTO_TEST_CASE(retained_graph_allows_a_second_backward) {
  Var x = param({0.7f});
  Var y = ops::tanh(ops::exp(x));
  y.backward(Tensor::full(Shape{1}, 1.f), true);
  const float once = x.grad().item();
  y.backward(Tensor::full(Shape{1}, 1.f));  // through the retained graph, then freed
  BOOST_TEST(x.grad().item() == 2 * once, boost::test_tools::tolerance(1e-6f));
  BOOST_CHECK_THROW(y.backward(), AutogradError);
}

BOOST_AUTO_TEST_CASE(backward_without_seed_needs_one_element) {
  Var x = param({1.f, 2.f});
  BOOST_CHECK_THROW(ops::exp(x).backward(), AutogradError);
}

BOOST_AUTO_TEST_CASE(op_without_backward_throws_when_recorded) {
  Var x = param({1.f});
  BOOST_CHECK_THROW(autograd::make_result(x.value(), {x}, "argmax", nullptr), NotDifferentiable);
  autograd::NoGrad ng;
  BOOST_CHECK_NO_THROW(autograd::make_result(x.value(), {x}, "argmax", nullptr));
}

BOOST_AUTO_TEST_CASE(ops_reject_wrong_dtype) {
  Var idx(Tensor::zeros(Shape{3}, core::DType::i64));
  BOOST_CHECK_THROW(ops::relu(idx), DTypeError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(primitive_cache)

BOOST_AUTO_TEST_CASE(second_step_builds_no_primitive) {
  auto step = [] {
    Var x = param({0.1f, 0.2f, 0.3f, 0.4f, 0.5f});
    Var y = ops::gelu(ops::sigmoid(ops::relu(x)));
    y.backward(Tensor::full(Shape{5}, 1.f));
  };
  step();
  const auto before = onednn::cache_stats();
  step();
  const auto after = onednn::cache_stats();
  BOOST_TEST(after.misses == before.misses);
  BOOST_TEST(after.hits >= before.hits + 3);
}

BOOST_AUTO_TEST_SUITE_END()
