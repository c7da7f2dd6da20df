// Behaviour of the reductions beyond the generic op cases: axis errors, ties and NaN in max,
// rank-0 results, and results that do not depend on the thread count.
#include <boost/test/unit_test.hpp>

#include "framework/ops/reduce.h"

#include <tbb/task_arena.h>

#include <cmath>
#include <string>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {
Var param(std::vector<float> v, Shape s) { return Var(Tensor::from(v, std::move(s)), true); }
}  // namespace

BOOST_AUTO_TEST_SUITE(reduce_ops)

BOOST_AUTO_TEST_CASE(axis_out_of_range_throws_naming_op_axis_and_shape) {
  const Var x = param(std::vector<float>(6, 1.f), {2, 3});
  try {
    ops::sum(x, 2);
    BOOST_FAIL("no exception thrown");
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("sum") != std::string::npos, msg);
    BOOST_TEST(msg.find("axis 2") != std::string::npos, msg);
    BOOST_TEST(msg.find("[2, 3]") != std::string::npos, msg);
  }
  BOOST_CHECK_THROW(ops::mean(x, -3), ShapeError);
  BOOST_CHECK_THROW(ops::max(x, 5, true), ShapeError);
  BOOST_CHECK_THROW(ops::sum(Var(Tensor::scalar(1.f)), 0), ShapeError);
}

BOOST_AUTO_TEST_CASE(integer_input_throws_dtype_error) {
  const Var idx(Tensor::from_i64(std::vector<std::int64_t>{1, 2}, Shape{2}), false);
  BOOST_CHECK_THROW(ops::sum(idx, 0), DTypeError);
  BOOST_CHECK_THROW(ops::mean_all(idx), DTypeError);
}

BOOST_AUTO_TEST_CASE(max_sends_the_gradient_to_the_first_of_tied_maxima) {
  Var x = param({1.f, 3.f, 3.f, 2.f, 5.f, 5.f, 5.f, 0.f}, {2, 4});
  Var y = ops::max(x, 1);
  BOOST_TEST(y.value().to_vector() == std::vector<float>({3.f, 5.f}), boost::test_tools::per_element());
  y.backward(Tensor::from(std::vector<float>{10.f, 20.f}, Shape{2}));
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({0, 10, 0, 0, 20, 0, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_propagates_nan_and_routes_its_gradient_there) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Var x = param({1.f, nan, 4.f, 2.f, 3.f, 1.f}, {2, 3});
  Var y = ops::max(x, 1);
  const auto v = y.value().to_vector();
  BOOST_TEST(std::isnan(v[0]));
  BOOST_TEST(v[1] == 3.f);
  y.backward(Tensor::full(Shape{2}, 1.f));
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({0, 1, 0, 0, 1, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_axes_follow_numpy) {
  const Var e(Tensor::zeros(Shape{2, 0}), true);
  BOOST_TEST(ops::sum(e, 1).value().to_vector() == std::vector<float>({0.f, 0.f}), boost::test_tools::per_element());
  BOOST_TEST(std::isnan(ops::mean(e, 1).value().to_vector()[0]));
  BOOST_CHECK_THROW(ops::max(e, 1), ShapeError);
  BOOST_TEST((ops::sum(e, 0).shape() == Shape({0})));
}

BOOST_AUTO_TEST_CASE(whole_tensor_reductions_are_rank_0_losses) {
  Var x = param({1.f, 2.f, 3.f, 6.f}, {2, 2});
  Var m = ops::mean_all(x);
  BOOST_TEST((m.shape() == Shape{}));
  BOOST_TEST(m.value().item() == 3.f);
  m.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<float>(4, 0.25f), boost::test_tools::per_element());
  BOOST_TEST(ops::sum_all(x).value().item() == 12.f);
  BOOST_TEST((ops::sum(param({1.f, 2.f}, {2}), 0).shape() == Shape{}));
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_the_thread_count) {
  std::vector<float> v(300007);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i)) * 1e3f;
  const Var x(Tensor::from(v, Shape{300007}), false);
  const Var m(Tensor::from(std::vector<float>(v.begin(), v.end() - 1), Shape{7, 42858, 1}), false);
  auto run = [&](int threads) {
    std::vector<float> r;
    tbb::task_arena(threads).execute([&] {
      r.push_back(ops::sum_all(x).value().item());
      for (float e : ops::sum(m, 1).value().to_vector()) r.push_back(e);
      for (float e : ops::sum(m, 0).value().to_vector()) r.push_back(e);
    });
    return r;
  };
  const auto one = run(1), two = run(2);
  BOOST_TEST(one == two, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
