// Pooling behaviour beyond the generic op cases: errors, hand-computed PyTorch values, the max
// gradient's destination, kernel reuse.
#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/pool.h"

#include <string>
#include <vector>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

using attnlab::testing::expect_error;

Var values(std::vector<float> v, Shape s, bool grad = false) { return Var(Tensor::from(v, s), grad); }
Var ones(Shape s) { return Var(Tensor::full(s, 1.f)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(pool)

BOOST_AUTO_TEST_CASE(wrong_rank) {
  expect_error<ShapeError>([] { ops::max_pool1d(ones({2, 8}), {.kernel = 2}); }, {"max_pool1d", "[2, 8]", "[N, C, W]"});
  expect_error<ShapeError>([] { ops::avg_pool2d(ones({2, 3, 8}), {.kernel = {2, 2}}); }, {"avg_pool2d", "[2, 3, 8]"});
  expect_error<ShapeError>([] { ops::global_max_pool(ones({2, 8})); }, {"global_max_pool", "[2, 8]"});
  expect_error<ShapeError>([] { ops::global_avg_pool(ones({2, 3, 0})); }, {"global_avg_pool", "empty"});
  const Var idx(Tensor::from_i64(std::vector<std::int64_t>(8, 1), Shape{1, 2, 4}));
  expect_error<DTypeError>([&] { ops::max_pool1d(idx, {.kernel = 2}); }, {"max_pool1d", "f32"});
}

BOOST_AUTO_TEST_CASE(bad_options) {
  expect_error<ShapeError>([] { ops::max_pool1d(ones({1, 2, 8}), {}); }, {"max_pool1d", "kernel [0]"});
  // PyTorch: "pad should be at most half of effective kernel size".
  expect_error<ShapeError>(
      [] {
        ops::avg_pool1d(ones({1, 2, 8}), {.kernel = 3, .padding = 2});
      },
      {"avg_pool1d", "padding [2]"});
  expect_error<ShapeError>(
      [] {
        ops::max_pool2d(ones({1, 2, 8, 8}), {.kernel = {2, 2}, .stride = {-1, 1}});
      },
      {"max_pool2d", "stride"});
}

BOOST_AUTO_TEST_CASE(kernel_larger_than_padded_input) {
  expect_error<ShapeError>(
      [] {
        ops::max_pool1d(ones({1, 2, 3}), {.kernel = 6, .padding = 1});
      },
      {"max_pool1d", "larger", "[1, 2, 3]"});
  expect_error<ShapeError>(
      [] {
        ops::avg_pool2d(ones({1, 1, 5, 2}), {.kernel = {3, 3}});
      },
      {"avg_pool2d", "larger", "[1, 1, 5, 2]"});
  BOOST_TEST(ops::max_pool1d(ones({1, 2, 4}), {.kernel = 6, .padding = 1}).shape() == (Shape{1, 2, 1}));
}

BOOST_AUTO_TEST_CASE(matches_hand_computed_pytorch_values) {
  const Var x = values({1, 3, 2, 5, 4}, {1, 1, 5});
  // F.max_pool1d(x, 2) = [3, 5] (the tail 4 is dropped).
  BOOST_TEST(ops::max_pool1d(x, {.kernel = 2}).value().to_vector() == (std::vector<float>{3, 5}),
             boost::test_tools::per_element());
  // F.max_pool1d(x, 3, stride=2, padding=1): windows [-, 1, 3], [3, 2, 5], [5, 4, -] (padding never wins).
  BOOST_TEST(ops::max_pool1d(values({-1, -3, -2, -5, -4}, {1, 1, 5}), {.kernel = 3, .stride = 2, .padding = 1})
                     .value()
                     .to_vector() == (std::vector<float>{-1, -2, -4}),
             boost::test_tools::per_element());
  // F.avg_pool1d(x, 3, stride=2, padding=1) counts the padding: [(0+1+3)/3, (3+2+5)/3, (5+4+0)/3].
  const auto avg = ops::avg_pool1d(x, {.kernel = 3, .stride = 2, .padding = 1}).value().to_vector();
  const std::vector<float> want{4.f / 3, 10.f / 3, 3.f};
  BOOST_REQUIRE_EQUAL(avg.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) BOOST_TEST(avg[i] == want[i], boost::test_tools::tolerance(1e-6f));
  // Global pools of [N=1, C=2, 2, 2].
  const Var img = values({1, 4, 2, 3, -1, -2, -4, -3}, {1, 2, 2, 2});
  BOOST_TEST(ops::global_max_pool(img).value().to_vector() == (std::vector<float>{4, -1}),
             boost::test_tools::per_element());
  BOOST_TEST(ops::global_avg_pool(img).value().to_vector() == (std::vector<float>{2.5f, -2.5f}),
             boost::test_tools::per_element());
  BOOST_TEST(ops::global_avg_pool(img).shape() == (Shape{1, 2}));
}

BOOST_AUTO_TEST_CASE(max_gradient_goes_to_each_windows_maximum) {
  Var x = values({1, 3, 2, 5, 4}, {1, 1, 5}, true);
  ops::max_pool1d(x, {.kernel = 3, .stride = 1}).backward(Tensor::from(std::vector<float>{1, 10, 100}, Shape{1, 1, 3}));
  // Windows [1, 3, 2] -> 3, [3, 2, 5] -> 5, [2, 5, 4] -> 5.
  BOOST_TEST(x.grad().to_vector() == (std::vector<float>{0, 1, 0, 110, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(second_step_builds_no_kernels) {
  Var x(Tensor::full(Shape{2, 3, 6, 6}, 0.5f), true);
  const auto step = [&] {
    ops::max_pool2d(x, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}})
        .backward(Tensor::full(Shape{2, 3, 3, 3}, 1.f));
    ops::global_avg_pool(x).backward(Tensor::full(Shape{2, 3}, 1.f));
  };
  step();
  const auto before = onednn::cache_stats().misses;
  step();
  BOOST_TEST(onednn::cache_stats().misses == before);
}

BOOST_AUTO_TEST_CASE(empty_batch) {
  Var x(Tensor::zeros(Shape{0, 2, 6}), true);
  const Var y = ops::avg_pool1d(x, {.kernel = 2});
  BOOST_TEST(y.shape() == (Shape{0, 2, 3}));
  y.backward(Tensor::zeros(y.shape()));
  BOOST_TEST(x.grad().shape() == x.shape());
  BOOST_TEST(ops::global_max_pool(x).shape() == (Shape{0, 2}));
}

BOOST_AUTO_TEST_SUITE_END()
