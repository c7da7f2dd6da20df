#include <boost/test/unit_test.hpp>

#include "framework/onednn/onednn.h"
#include "framework/ops/softmax.h"

#include <cmath>

namespace attnlab::ops {
namespace {

using core::DType;
using core::Shape;
using core::Tensor;

Tensor iota(Shape s, float scale = 1.f) {
  Tensor t = Tensor::empty(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = scale * static_cast<float>(i % 17) - 3.f;
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_ops)

BOOST_AUTO_TEST_CASE(bad_axis_throws_shape_error_naming_op_and_shape) {
  Var x(iota({2, 3, 4}));
  for (int axis : {3, -4, 100}) {
    BOOST_CHECK_EXCEPTION(softmax(x, axis), ShapeError, [&](const ShapeError& e) {
      const std::string m = e.what();
      return e.op() == "softmax" && m.find("[2, 3, 4]") != std::string::npos &&
             m.find(std::to_string(axis)) != std::string::npos;
    });
    BOOST_CHECK_THROW(log_softmax(x, axis), ShapeError);
  }
  BOOST_CHECK_THROW(softmax(Var(Tensor::scalar(1.f)), -1), ShapeError);
}

BOOST_AUTO_TEST_CASE(integer_input_throws_dtype_error) {
  const std::vector<std::int64_t> v{1, 2, 3};
  BOOST_CHECK_THROW(softmax(Var(Tensor::from_i64(v, {3})), -1), DTypeError);
}

BOOST_AUTO_TEST_CASE(rows_sum_to_one_and_large_logits_stay_finite) {
  Tensor t = iota({4, 1000}, 100.f);  // logits up to ~1600: exp overflows without the max shift
  const Var y = softmax(Var(t), -1);
  const Var ly = log_softmax(Var(t), -1);
  for (std::int64_t r = 0; r < 4; ++r) {
    double s = 0.0;
    for (std::int64_t j = 0; j < 1000; ++j) {
      const float p = y.value().f32()[r * 1000 + j];
      BOOST_REQUIRE(std::isfinite(p));
      BOOST_REQUIRE(std::isfinite(ly.value().f32()[r * 1000 + j]));
      s += p;
    }
    BOOST_TEST(s == 1.0, boost::test_tools::tolerance(1e-5));
  }
}

BOOST_AUTO_TEST_CASE(second_call_on_the_same_shape_builds_nothing) {
  Var x(iota({3, 5, 7}), true);
  softmax(x, 1).backward(iota({3, 5, 7}));
  const auto before = onednn::cache_stats().misses;
  softmax(x, 1).backward(iota({3, 5, 7}));
  // Any shape that collapses to the same [outer, axis, inner] reuses the kernel too.
  softmax(Var(iota({15, 7})), 0);
  BOOST_TEST(onednn::cache_stats().misses == before + 1);  // [15, 7] axis 0 is [1, 15, 7]: new
  softmax(Var(iota({1, 15, 7})), 1);
  BOOST_TEST(onednn::cache_stats().misses == before + 1);
}

BOOST_AUTO_TEST_CASE(empty_input_gives_empty_output) {
  const Var y = softmax(Var(Tensor::empty({0, 4})), -1);
  BOOST_TEST(y.shape() == (Shape{0, 4}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::ops
