#include <boost/test/unit_test.hpp>

#include "framework/ops/dropout.h"

#include <cmath>
#include <limits>

namespace attnlab::ops {

using core::DType;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(dropout_ops)

BOOST_AUTO_TEST_CASE(p_outside_zero_one_throws_even_in_eval) {
  core::Rng rng(1);
  Var x(Tensor::full({4}, 1.f));
  for (float p : {1.f, 1.5f, -0.1f, std::numeric_limits<float>::quiet_NaN()}) {
    BOOST_CHECK_THROW(dropout(x, p, true, rng), Error);
    BOOST_CHECK_THROW(dropout(x, p, false, rng), Error);
  }
}

BOOST_AUTO_TEST_CASE(same_seed_same_mask_and_kept_elements_are_scaled) {
  Var x(Tensor::full({100000}, 2.f));
  core::Rng a(42), b(42);
  const auto ya = dropout(x, 0.3f, true, a).value().to_vector();
  const auto yb = dropout(x, 0.3f, true, b).value().to_vector();
  BOOST_TEST(ya == yb);
  std::int64_t dropped = 0;
  for (float v : ya) {
    if (v == 0.f)
      ++dropped;
    else
      BOOST_REQUIRE_EQUAL(v, 2.f * (1.f / 0.7f));
  }
  BOOST_TEST(std::abs(static_cast<double>(dropped) / 100000.0 - 0.3) < 0.01);
  BOOST_TEST(a.state() == b.state());
  // The next call draws a different mask from the advanced generator.
  BOOST_TEST(dropout(x, 0.3f, true, a).value().to_vector() != ya);
}

BOOST_AUTO_TEST_CASE(eval_mode_is_identity_and_draws_nothing) {
  core::Rng rng(5);
  const auto before = rng.state();
  Var x(Tensor::full({3, 4}, 1.25f), true);
  Var y = dropout(x, 0.5f, false, rng);
  BOOST_TEST(rng.state() == before);
  BOOST_TEST(y.value().to_vector() == x.value().to_vector());
  y.backward(Tensor::full({3, 4}, 3.f));
  for (float g : x.grad().to_vector()) BOOST_TEST(g == 3.f);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::ops
