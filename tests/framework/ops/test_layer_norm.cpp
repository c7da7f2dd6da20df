#include <boost/test/unit_test.hpp>

#include "framework/ops/layer_norm.h"

#include <cmath>

namespace attnlab::ops {
namespace {

using core::DType;
using core::Shape;
using core::Tensor;

Tensor ramp(Shape s) {
  Tensor t = Tensor::empty(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = static_cast<float>((i * 7) % 13) * 0.5f - 2.f;
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(layer_norm_ops)

BOOST_AUTO_TEST_CASE(gamma_or_beta_of_the_wrong_shape_throws) {
  Var x(ramp({2, 3, 8}));
  BOOST_CHECK_EXCEPTION(layer_norm(x, Var(ramp({7})), Var()), ShapeError, [](const ShapeError& e) {
    const std::string m = e.what();
    return e.op() == "layer_norm" && m.find("[2, 3, 8]") != std::string::npos && m.find("[7]") != std::string::npos;
  });
  BOOST_CHECK_THROW(layer_norm(x, Var(), Var(ramp({2, 8}))), ShapeError);
  BOOST_CHECK_THROW(layer_norm(Var(Tensor::scalar(1.f)), Var(), Var()), ShapeError);
  const std::vector<std::int64_t> iv(8, 1);
  BOOST_CHECK_THROW(layer_norm(x, Var(Tensor::from_i64(iv, {8})), Var()), DTypeError);
}

BOOST_AUTO_TEST_CASE(rows_have_zero_mean_and_unit_variance) {
  const Var y = layer_norm(Var(ramp({6, 64})), Var(), Var(), 0.f);
  for (std::int64_t r = 0; r < 6; ++r) {
    double m = 0.0, v = 0.0;
    for (std::int64_t j = 0; j < 64; ++j) m += y.value().f32()[r * 64 + j];
    m /= 64;
    for (std::int64_t j = 0; j < 64; ++j) v += std::pow(y.value().f32()[r * 64 + j] - m, 2);
    BOOST_TEST(std::abs(m) < 1e-6);
    BOOST_TEST(v / 64 == 1.0, boost::test_tools::tolerance(1e-5));
  }
}

BOOST_AUTO_TEST_CASE(parameter_gradients_flow_when_x_needs_none) {
  Var x(ramp({4, 8}), false), gamma(Tensor::full({8}, 1.5f), true), beta(Tensor::zeros({8}), true);
  layer_norm(x, gamma, beta).backward(Tensor::full({4, 8}, 1.f));
  BOOST_REQUIRE(gamma.grad().defined());
  BOOST_REQUIRE(beta.grad().defined());
  BOOST_TEST(!x.grad().defined());
  for (float g : beta.grad().to_vector()) BOOST_TEST(g == 4.f);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::ops
