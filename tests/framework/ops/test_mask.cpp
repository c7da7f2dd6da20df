// Masks: the non-differentiable sequence_mask/causal_mask against hand-computed values, and
// masked_fill's behaviour at -inf and on bad shapes.
#include <boost/test/unit_test.hpp>

#include "framework/ops/mask.h"

#include <cmath>
#include <limits>
#include <string>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {
Tensor lengths(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return Tensor::from_i64(v, Shape{n});
}
}  // namespace

BOOST_AUTO_TEST_SUITE(mask_ops)

BOOST_AUTO_TEST_CASE(sequence_mask_marks_valid_positions) {
  const Tensor m = ops::sequence_mask(lengths({2, 0, 3, 1}), 3);
  BOOST_TEST((m.shape() == Shape({4, 3})));
  BOOST_TEST((m.dtype() == core::DType::f32));
  const std::vector<float> want{1, 1, 0,  //
                                0, 0, 0,  //
                                1, 1, 1,  //
                                1, 0, 0};
  BOOST_TEST(m.to_vector() == want, boost::test_tools::per_element());
  BOOST_TEST((ops::sequence_mask(lengths({0, 0}), 0).shape() == Shape({2, 0})));
}

BOOST_AUTO_TEST_CASE(sequence_mask_rejects_bad_lengths) {
  try {
    ops::sequence_mask(lengths({2, 4, 1}), 3);
    BOOST_FAIL("no exception thrown");
  } catch (const IndexError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("sequence_mask") != std::string::npos, msg);
    BOOST_TEST(msg.find("lengths[1] = 4") != std::string::npos, msg);
  }
  BOOST_CHECK_THROW(ops::sequence_mask(lengths({-1}), 3), IndexError);
  BOOST_CHECK_THROW(ops::sequence_mask(Tensor::full(Shape{2}, 1.f), 3), DTypeError);
  BOOST_CHECK_THROW(ops::sequence_mask(Tensor::from_i64(std::vector<std::int64_t>{1, 1}, Shape{1, 2}), 3), ShapeError);
  BOOST_CHECK_THROW(ops::sequence_mask(lengths({0}), -1), ShapeError);
}

BOOST_AUTO_TEST_CASE(causal_mask_hides_the_future) {
  const Tensor m = ops::causal_mask(4);
  BOOST_TEST((m.shape() == Shape({4, 4})));
  const std::vector<float> want{0, 1, 1, 1,  //
                                0, 0, 1, 1,  //
                                0, 0, 0, 1,  //
                                0, 0, 0, 0};
  BOOST_TEST(m.to_vector() == want, boost::test_tools::per_element());
  BOOST_TEST(ops::causal_mask(1).to_vector() == std::vector<float>{0.f}, boost::test_tools::per_element());
  BOOST_TEST((ops::causal_mask(0).shape() == Shape({0, 0})));
  BOOST_CHECK_THROW(ops::causal_mask(-2), ShapeError);
}

BOOST_AUTO_TEST_CASE(masked_fill_with_minus_infinity_stops_the_gradient) {
  const float inf = std::numeric_limits<float>::infinity();
  Var x(Tensor::from(std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{2, 3}), true);
  const Tensor pad = ops::sequence_mask(lengths({3, 1}), 3);  // valid positions; fill the others
  Tensor hide = Tensor::empty(Shape{2, 3});
  for (int i = 0; i < 6; ++i) hide.f32()[i] = 1.f - pad.f32()[i];
  Var y = ops::masked_fill(x, hide, -inf);
  const auto v = y.value().to_vector();
  BOOST_TEST(v[0] == 1.f);
  BOOST_TEST(v[3] == 4.f);
  BOOST_TEST((std::isinf(v[4]) && v[4] < 0));
  BOOST_TEST((std::isinf(v[5]) && v[5] < 0));
  y.backward(Tensor::full(Shape{2, 3}, 1.f));
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({1, 1, 1, 1, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(masked_fill_with_a_causal_mask_over_batch_and_heads) {
  Var x(Tensor::zeros(Shape{2, 2, 3, 3}), false);
  const auto v = ops::masked_fill(x, ops::causal_mask(3), 7.f).value().to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t r = (i / 3) % 3, c = i % 3;
    BOOST_TEST(v[i] == (c > r ? 7.f : 0.f));
  }
}

BOOST_AUTO_TEST_CASE(masked_fill_rejects_masks_that_do_not_broadcast_to_x) {
  const Var x(Tensor::zeros(Shape{3, 3}), true);
  try {
    ops::masked_fill(x, Tensor::zeros(Shape{2, 3}), 0.f);
    BOOST_FAIL("no exception thrown");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("masked_fill") != std::string::npos, msg);
    BOOST_TEST(msg.find("[2, 3]") != std::string::npos, msg);
    BOOST_TEST(msg.find("[3, 3]") != std::string::npos, msg);
  }
  // The mask broadcasts to x, never x to the mask.
  BOOST_CHECK_THROW(ops::masked_fill(x, Tensor::zeros(Shape{2, 3, 3}), 0.f), ShapeError);
  BOOST_CHECK_THROW(ops::masked_fill(Var(Tensor::zeros(Shape{1, 3}), true), Tensor::zeros(Shape{3, 3}), 0.f),
                    ShapeError);
  BOOST_CHECK_THROW(ops::masked_fill(Var(Tensor::from_i64(std::vector<std::int64_t>{1}, Shape{1}), false),
                                     Tensor::zeros(Shape{1}), 0.f),
                    DTypeError);
}

BOOST_AUTO_TEST_SUITE_END()
