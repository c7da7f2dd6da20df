// Behaviour of the broadcasting binary ops beyond the generic op cases: errors, gradient
// accumulation through a shared input, the Tensor-level helpers, and kernel reuse.
#include <boost/test/unit_test.hpp>

#include "framework/onednn/onednn.h"
#include "framework/ops/binary.h"
#include "framework/ops/reduce.h"

#include <string>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {
Var param(std::vector<float> v, Shape s) { return Var(Tensor::from(v, std::move(s)), true); }
Var constant(Shape s, float v) { return Var(Tensor::full(std::move(s), v), false); }

// Runs f, which must throw E, and returns the message.
template <class E, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  BOOST_FAIL("no exception thrown");
  return {};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(binary_ops)

BOOST_AUTO_TEST_CASE(non_broadcastable_shapes_throw_naming_op_and_both_shapes) {
  const Var a = constant({2, 3}, 1.f), b = constant({4}, 1.f);
  const std::string msg = message_of<ShapeError>([&] { ops::add(a, b); });
  BOOST_TEST(msg.find("add") != std::string::npos, msg);
  BOOST_TEST(msg.find("[2, 3]") != std::string::npos, msg);
  BOOST_TEST(msg.find("[4]") != std::string::npos, msg);
  BOOST_CHECK_THROW(ops::mul(constant({2, 3, 4}, 1.f), constant({3, 1, 5}, 1.f)), ShapeError);
  BOOST_CHECK_THROW(constant({5}, 1.f) / constant({2, 4}, 1.f), ShapeError);
  BOOST_CHECK_THROW(constant({2, 1}, 1.f) - constant({3, 3}, 1.f), ShapeError);
}

BOOST_AUTO_TEST_CASE(integer_operands_throw_dtype_error) {
  const Var idx(Tensor::from_i64(std::vector<std::int64_t>{1, 2}, Shape{2}), false);
  BOOST_CHECK_THROW(ops::add(constant({2}, 1.f), idx), DTypeError);
  BOOST_CHECK_THROW(ops::sqrt(idx), DTypeError);
}

BOOST_AUTO_TEST_CASE(a_var_used_twice_gets_the_summed_gradient) {
  // y = x * x + x: dy/dx = 2x + 1, the sum of three uses of x across two ops.
  Var x = param({0.5f, -1.f, 2.f}, {3});
  Var y = x * x + x;
  y.backward(Tensor::full(Shape{3}, 1.f));
  const auto g = x.grad().to_vector();
  const std::vector<float> want{2.f, -1.f, 5.f};
  BOOST_TEST(g == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_broadcast_var_used_on_both_sides_gets_the_summed_gradient) {
  // y = b * x - b with b [H] broadcast against x [B, H]: db = sum_B (x - 1).
  Var x = param({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Var b = param({0.5f, 1.f, 2.f}, {3});
  Var y = b * x - b;
  y.backward(Tensor::full(Shape{2, 3}, 1.f));
  const std::vector<float> gb{3.f, 5.f, 7.f}, gx{0.5f, 1.f, 2.f, 0.5f, 1.f, 2.f};
  BOOST_TEST(b.grad().to_vector() == gb, boost::test_tools::per_element());
  BOOST_TEST(x.grad().to_vector() == gx, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(results_take_the_broadcast_shape) {
  BOOST_TEST(((constant({2, 1, 4}, 1.f) * constant({3, 1}, 2.f)).shape() == Shape({2, 3, 4})));
  BOOST_TEST(((constant({}, 1.f) + constant({}, 2.f)).shape() == Shape{}));
  BOOST_TEST((constant({5}, 6.f) / 2.f).value().to_vector() == std::vector<float>(5, 3.f),
             boost::test_tools::per_element());
  BOOST_TEST((1.f - constant({2}, 3.f)).value().to_vector() == std::vector<float>(2, -2.f),
             boost::test_tools::per_element());
  BOOST_TEST(((constant({0, 3}, 1.f) + constant({3}, 1.f)).shape() == Shape({0, 3})));
}

BOOST_AUTO_TEST_CASE(constants_receive_no_gradient_and_need_no_backward) {
  Var x = param({1.f, 2.f}, {2});
  Var c = constant({2}, 3.f);
  (x * c).backward(Tensor::full(Shape{2}, 1.f));
  BOOST_TEST(!c.grad().defined());
  BOOST_TEST(!(c * c).requires_grad());
}

BOOST_AUTO_TEST_CASE(broadcast_shape_follows_numpy) {
  BOOST_TEST((ops::broadcast_shape("t", Shape{8}, Shape{2, 3, 8}) == Shape({2, 3, 8})));
  BOOST_TEST((ops::broadcast_shape("t", Shape{2, 1, 8}, Shape{5, 1}) == Shape({2, 5, 8})));
  BOOST_TEST((ops::broadcast_shape("t", Shape{}, Shape{4}) == Shape({4})));
  BOOST_CHECK_THROW(ops::broadcast_shape("t", Shape{3}, Shape{4}), ShapeError);
}

BOOST_AUTO_TEST_CASE(broadcast_to_and_sum_to_are_adjoint) {
  const Tensor b = Tensor::from(std::vector<float>{1.f, 2.f, 3.f}, Shape{3, 1});
  const Tensor e = ops::broadcast_to(b, Shape{2, 3, 2}, 2.f);
  BOOST_TEST(e.to_vector() == std::vector<float>({2, 2, 4, 4, 6, 6, 2, 2, 4, 4, 6, 6}),
             boost::test_tools::per_element());
  const Tensor s = ops::sum_to(e, Shape{3, 1}, 0.5f);
  BOOST_TEST((s.shape() == Shape({3, 1})));
  BOOST_TEST(s.to_vector() == std::vector<float>({4, 8, 12}), boost::test_tools::per_element());
  BOOST_TEST(ops::sum_to(e, e.shape()).shares_buffer(e));
  BOOST_CHECK_THROW(ops::broadcast_to(b, Shape{3, 2, 2}), ShapeError);
  BOOST_CHECK_THROW(ops::sum_to(e, Shape{3}), ShapeError);
}

BOOST_AUTO_TEST_CASE(a_second_step_builds_no_kernels) {
  auto step = [] {
    Var x = param(std::vector<float>(24, 0.5f), {2, 3, 4});
    Var w = param({1.f, 2.f, 3.f, 4.f}, {4});
    Var y = ops::sqrt(ops::square(-(x * w) + 1.f) + x / w);
    y.backward(Tensor::full(Shape{2, 3, 4}, 1.f));
  };
  step();
  const auto before = onednn::cache_stats();
  step();
  BOOST_TEST(onednn::cache_stats().misses == before.misses);
}

BOOST_AUTO_TEST_SUITE_END()
