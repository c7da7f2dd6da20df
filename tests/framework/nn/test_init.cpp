#include <boost/test/unit_test.hpp>

#include "framework/nn/init.h"

#include <algorithm>
#include <cmath>

using namespace attnlab;
using core::Shape;
using core::Tensor;
namespace tt = boost::test_tools;

namespace {

struct Stats {
  double mean, std, min, max;
};

Stats stats(const Tensor& t) {
  const auto v = t.to_vector();
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (float x : v) sq += (x - mean) * (x - mean);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return {mean, std::sqrt(sq / static_cast<double>(v.size())), *lo, *hi};
}

// Large tensors: the empirical std of n samples has a relative standard error of about
// 1/sqrt(2n) (0.1% here), so 1% is a tight but safe tolerance.
void check_uniform(const Tensor& t, double bound) {
  const Stats s = stats(t);
  BOOST_TEST(s.min >= -bound);
  BOOST_TEST(s.max <= bound);
  BOOST_TEST(s.max > 0.999 * bound);  // the bound is reached, not merely respected
  BOOST_TEST(s.min < -0.999 * bound);
  BOOST_TEST(s.std == bound / std::sqrt(3.0), tt::tolerance(0.01));
  BOOST_TEST(std::abs(s.mean) < 0.01 * bound);
}

void check_normal(const Tensor& t, double mean, double std) {
  const Stats s = stats(t);
  BOOST_TEST(s.std == std, tt::tolerance(0.01));
  BOOST_TEST(std::abs(s.mean - mean) < 0.01 * std);
  BOOST_TEST(s.max - mean > 4 * std);  // tails exist: not a uniform with the same std
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_init)

BOOST_AUTO_TEST_CASE(fans_follow_pytorch_conventions) {
  BOOST_TEST((nn::fans(Shape{7, 5}) == std::pair<std::int64_t, std::int64_t>{5, 7}));
  BOOST_TEST((nn::fans(Shape{8, 4, 3}) == std::pair<std::int64_t, std::int64_t>{12, 24}));
  BOOST_TEST((nn::fans(Shape{16, 3, 5, 5}) == std::pair<std::int64_t, std::int64_t>{75, 400}));
  BOOST_CHECK_THROW(nn::fans(Shape{5}), ShapeError);
  BOOST_CHECK_THROW(nn::fans(Shape{}), ShapeError);
}

BOOST_AUTO_TEST_CASE(gains_match_calculate_gain) {
  BOOST_TEST(nn::gain(nn::Nonlinearity::linear) == 1.0);
  BOOST_TEST(nn::gain(nn::Nonlinearity::sigmoid) == 1.0);
  BOOST_TEST(nn::gain(nn::Nonlinearity::tanh) == 5.0 / 3.0);
  BOOST_TEST(nn::gain(nn::Nonlinearity::relu) == std::sqrt(2.0));
  BOOST_TEST(nn::gain(nn::Nonlinearity::leaky_relu) == std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  BOOST_TEST(nn::gain(nn::Nonlinearity::leaky_relu, std::sqrt(5.0)) == std::sqrt(2.0 / 6.0), tt::tolerance(1e-12));
  BOOST_TEST(nn::gain(nn::Nonlinearity::selu) == 0.75);
}

BOOST_AUTO_TEST_CASE(constant_initializers) {
  const Shape s{3, 2};
  for (float x : nn::init::zeros()(s).to_vector()) BOOST_TEST(x == 0.0f);
  for (float x : nn::init::ones()(s).to_vector()) BOOST_TEST(x == 1.0f);
  const Tensor c = nn::init::constant(-2.5f)(s);
  BOOST_TEST((c.shape() == s));
  for (float x : c.to_vector()) BOOST_TEST(x == -2.5f);
}

BOOST_AUTO_TEST_CASE(uniform_and_normal) {
  core::Rng rng(11);
  const Tensor u = nn::init::uniform(rng, -0.3f, 0.7f)(Shape{400000});
  const Stats su = stats(u);
  BOOST_TEST(su.min >= -0.3);
  BOOST_TEST(su.max < 0.7);
  BOOST_TEST(su.mean == 0.2, tt::tolerance(0.01));
  BOOST_TEST(su.std == 1.0 / std::sqrt(12.0), tt::tolerance(0.01));
  check_normal(nn::init::normal(rng, 1.5f, 0.02f)(Shape{500, 800}), 1.5, 0.02);
  BOOST_CHECK_THROW(nn::init::normal(rng, 0.0f, -1.0f), Error);
  BOOST_CHECK_THROW(nn::init::uniform(rng, 1.0f, 0.0f), Error);
}

BOOST_AUTO_TEST_CASE(xavier_bounds_and_std) {
  core::Rng rng(12);
  // fan_in = 300 * 2, fan_out = 700 * 2.
  const Shape s{700, 300, 2};
  const double std1 = std::sqrt(2.0 / (600 + 1400));
  check_uniform(nn::init::xavier_uniform(rng)(s), std::sqrt(3.0) * std1);
  check_uniform(nn::init::xavier_uniform(rng, 5.0f / 3.0f)(s), 5.0 / 3.0 * std::sqrt(3.0) * std1);
  check_normal(nn::init::xavier_normal(rng, 2.0f)(s), 0.0, 2.0 * std1);
  BOOST_CHECK_THROW(nn::init::xavier_normal(rng)(Shape{10}), ShapeError);
}

BOOST_AUTO_TEST_CASE(kaiming_bounds_and_std) {
  core::Rng rng(13);
  const Shape s{600, 250, 3};  // fan_in 750, fan_out 1800
  // PyTorch's defaults (a = 0, fan_in, leaky_relu): gain sqrt(2).
  check_uniform(nn::init::kaiming_uniform(rng)(s), std::sqrt(2.0) * std::sqrt(3.0 / 750));
  // nn.Linear's own weight init, kaiming_uniform(a = sqrt(5)): U(+-1/sqrt(fan_in)).
  check_uniform(nn::init::kaiming_uniform(rng, std::sqrt(5.0f))(s), 1.0 / std::sqrt(750.0));
  check_uniform(nn::init::kaiming_uniform(rng, 0.0f, nn::FanMode::fan_out, nn::Nonlinearity::tanh)(s),
                5.0 / 3.0 * std::sqrt(3.0 / 1800));
  check_normal(nn::init::kaiming_normal(rng, 0.0f, nn::FanMode::fan_out, nn::Nonlinearity::relu)(s), 0.0,
               std::sqrt(2.0 / 1800));
  check_normal(nn::init::kaiming_normal(rng, 0.2f)(s), 0.0, std::sqrt(2.0 / 1.04) / std::sqrt(750.0));
  BOOST_CHECK_THROW(nn::init::kaiming_uniform(rng)(Shape{4}), ShapeError);
  // An empty weight is initialised to an empty tensor, not an error.
  BOOST_TEST(nn::init::kaiming_uniform(rng)(Shape{0, 4}).numel() == 0);
}

BOOST_AUTO_TEST_CASE(draws_are_reproducible_from_the_seed) {
  core::Rng a(77), b(77), c(78);
  const Shape s{5, 6};
  const auto va = nn::init::xavier_normal(a)(s).to_vector();
  BOOST_TEST(va == nn::init::xavier_normal(b)(s).to_vector(), tt::per_element());
  BOOST_TEST(va != nn::init::xavier_normal(c)(s).to_vector());
  // The Init draws from the Rng it was given, advancing it: a second call gives new values.
  auto init = nn::init::uniform(a, -1.0f, 1.0f);
  BOOST_TEST(init(s).to_vector() != init(s).to_vector());
}

BOOST_AUTO_TEST_SUITE_END()
