// conv1d / conv2d behaviour beyond the generic op cases: errors, hand-computed PyTorch values,
// causality, kernel reuse, an empty batch.
#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/conv.h"

#include <string>
#include <vector>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

using attnlab::testing::expect_error;

Var filled(Shape s, bool grad = false, float scale = 0.1f) {
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * static_cast<float>(static_cast<int>(i % 7) - 3);
  return Var(Tensor::from(v, s), grad);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv)

BOOST_AUTO_TEST_CASE(channel_mismatch_names_both_shapes) {
  expect_error<ShapeError>(
      [] {
        ops::conv1d(filled({2, 3, 8}), filled({4, 5, 3}));
      },
      {"conv1d", "[2, 3, 8]", "[4, 5, 3]"});
  expect_error<ShapeError>(
      [] {
        ops::conv2d(filled({1, 2, 5, 5}), filled({3, 4, 3, 3}));
      },
      {"conv2d", "[1, 2, 5, 5]", "[3, 4, 3, 3]"});
}

BOOST_AUTO_TEST_CASE(kernel_larger_than_padded_input) {
  expect_error<ShapeError>(
      [] {
        ops::conv1d(filled({1, 2, 4}), filled({3, 2, 6}));
      },
      {"conv1d", "larger", "[1, 2, 4]", "[3, 2, 6]"});
  // Dilation widens the kernel: 3 taps at dilation 3 span 7 > 5 + 1.
  expect_error<ShapeError>(
      [] {
        ops::conv1d(filled({1, 2, 5}), filled({3, 2, 3}), {}, {.pad_left = 1, .dilation = 3});
      },
      {"conv1d", "larger"});
  // Padding makes it fit: 6 <= 4 + 2.
  BOOST_TEST(ops::conv1d(filled({1, 2, 4}), filled({3, 2, 6}), {}, {.pad_left = 1, .pad_right = 1}).shape() ==
             (Shape{1, 3, 1}));
  expect_error<ShapeError>(
      [] {
        ops::conv2d(filled({1, 2, 5, 2}), filled({3, 2, 3, 3}));
      },
      {"conv2d", "larger", "[1, 2, 5, 2]"});
}

BOOST_AUTO_TEST_CASE(wrong_rank_and_bias) {
  expect_error<ShapeError>([] { ops::conv1d(filled({2, 8}), filled({4, 2, 3})); }, {"conv1d", "[2, 8]", "[N, C, W]"});
  expect_error<ShapeError>([] { ops::conv1d(filled({2, 3, 8}), filled({4, 3, 3, 3})); }, {"conv1d", "[4, 3, 3, 3]"});
  expect_error<ShapeError>([] { ops::conv2d(filled({2, 3, 8}), filled({4, 3, 3})); }, {"conv2d", "[N, C, H, W]"});
  expect_error<ShapeError>(
      [] {
        ops::conv1d(filled({2, 3, 8}), filled({4, 3, 3}), filled({5}));
      },
      {"conv1d", "[5]", "[4, 3, 3]"});
  expect_error<ShapeError>(
      [] {
        ops::conv1d(filled({2, 3, 8}), filled({4, 3, 3}), {}, {.stride = 0});
      },
      {"conv1d", "stride"});
  expect_error<ShapeError>(
      [] {
        ops::conv2d(filled({2, 3, 8, 8}), filled({4, 3, 3, 3}), {}, {.dilation = {1, 0}});
      },
      {"conv2d", "dilation"});
  expect_error<ShapeError>([] { ops::conv1d(filled({2, 0, 8}), filled({4, 0, 3})); }, {"conv1d", "empty"});
  const Var idx(Tensor::from_i64(std::vector<std::int64_t>(6, 1), Shape{1, 2, 3}));
  expect_error<DTypeError>([&] { ops::conv1d(idx, filled({1, 2, 2})); }, {"conv1d", "f32"});
}

BOOST_AUTO_TEST_CASE(matches_hand_computed_pytorch_values) {
  // torch.nn.functional.conv1d(x, w, b, stride=2, padding=1, dilation=2) with
  // x = [[[1, 2, 3, 4, 5, 6]]], w = [[[1, 10]]], b = [100]:
  // padded x = [0, 1, 2, 3, 4, 5, 6, 0]; windows start at 0, 2, 4 (span 3): out = 3.
  const std::vector<float> xv{1, 2, 3, 4, 5, 6};
  const Var x(Tensor::from(xv, Shape{1, 1, 6}));
  const Var w(Tensor::from(std::vector<float>{1, 10}, Shape{1, 1, 2}));
  const Var b(Tensor::from(std::vector<float>{100}, Shape{1}));
  const Var y = ops::conv1d(x, w, b, {.stride = 2, .pad_left = 1, .pad_right = 1, .dilation = 2});
  BOOST_TEST(y.value().to_vector() == (std::vector<float>{100 + 0 + 20, 100 + 2 + 40, 100 + 4 + 60}),
             boost::test_tools::per_element());

  // Causal: y[t] = x[t - 1] + 10 * x[t].
  const Var yc = ops::conv1d(x, w, {}, {.pad_left = 1});
  BOOST_TEST(yc.value().to_vector() == (std::vector<float>{10, 21, 32, 43, 54, 65}), boost::test_tools::per_element());

  // conv2d, padding 1: a 3x3 box filter over a 2x2 all-ones image gives 4 everywhere.
  const Var img(Tensor::full(Shape{1, 1, 2, 2}, 1.f));
  const Var box(Tensor::full(Shape{1, 1, 3, 3}, 1.f));
  BOOST_TEST(ops::conv2d(img, box, {}, {.padding = {1, 1}}).value().to_vector() == (std::vector<float>{4, 4, 4, 4}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(causal_padding_never_reads_the_future) {
  const int K = 3, dil = 2;
  const Var w = filled({4, 3, K});
  const ops::Conv1dOptions causal{.pad_left = dil * (K - 1), .dilation = dil};
  Var x = filled({2, 3, 10}, true);
  const Var y = ops::conv1d(x, w, {}, causal);
  BOOST_TEST(y.shape() == (Shape{2, 4, 10}));

  // The gradient of y[.., t] reaches x[.., <= t] only.
  const int t = 4;
  Tensor seed = Tensor::zeros(y.shape());
  seed.f32()[t] = 1.f;  // n = 0, o = 0
  y.backward(seed);
  const auto g = x.grad().to_vector();
  float future = 0.f, past = 0.f;
  for (int c = 0; c < 3; ++c)
    for (int s = 0; s < 10; ++s) (s > t ? future : past) += std::abs(g[static_cast<std::size_t>(c * 10 + s)]);
  BOOST_TEST(future == 0.f);
  BOOST_TEST(past > 0.f);
}

BOOST_AUTO_TEST_CASE(second_step_builds_no_kernels) {
  Var x = filled({3, 5, 12}, true), w = filled({6, 5, 3}, true), b = filled({6}, true);
  const auto step = [&] {
    ops::conv1d(x, w, b, {.stride = 2, .pad_left = 2, .dilation = 2}).backward(Tensor::full(Shape{3, 6, 5}, 1.f));
  };
  step();
  const auto before = onednn::cache_stats().misses;
  step();
  BOOST_TEST(onednn::cache_stats().misses == before);
}

BOOST_AUTO_TEST_CASE(only_the_inputs_that_need_gradients_get_them) {
  Var x = filled({2, 3, 6}), w = filled({2, 3, 3}, true), b = filled({2});
  ops::conv1d(x, w, b).backward(Tensor::full(Shape{2, 2, 4}, 1.f));
  BOOST_TEST(w.grad().defined());
  BOOST_TEST(!x.grad().defined());
  BOOST_TEST(!b.grad().defined());
  // dL/dw[o, c, k] = sum over n, t of x[n, c, t + k] with a seed of ones.
  const auto xv = x.value().to_vector(), gw = w.grad().to_vector();
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 3; ++k) {
      float want = 0.f;
      for (int n = 0; n < 2; ++n)
        for (int t = 0; t < 4; ++t) want += xv[static_cast<std::size_t>((n * 3 + c) * 6 + t + k)];
      BOOST_TEST(gw[static_cast<std::size_t>(c * 3 + k)] == want, boost::test_tools::tolerance(1e-5f));
      BOOST_TEST(gw[static_cast<std::size_t>(9 + c * 3 + k)] == want, boost::test_tools::tolerance(1e-5f));
    }
}

BOOST_AUTO_TEST_CASE(empty_batch) {
  Var x(Tensor::zeros(Shape{0, 3, 8}), true);
  Var w = filled({4, 3, 3}, true), b = filled({4}, true);
  const Var y = ops::conv1d(x, w, b);
  BOOST_TEST(y.shape() == (Shape{0, 4, 6}));
  y.backward(Tensor::zeros(y.shape()));
  BOOST_TEST(w.grad().shape() == w.shape());
  BOOST_TEST(b.grad().to_vector() == (std::vector<float>{0, 0, 0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
