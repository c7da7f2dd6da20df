#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/ops/ops.h"
#include "plugins/extractor/cnn2d/cnn2d.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"
#include "tests/support/gradcheck.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Extractor;
using plugins::Cnn2dExtractor;

namespace {

std::unique_ptr<Extractor> cnn2d(const std::string& yaml, std::int64_t in_dim, std::int64_t seq_len, core::Rng& rng) {
  return make_plugin<Extractor>("type: cnn2d\n" + yaml, {.in_dim = in_dim, .seq_len = seq_len, .rng = &rng});
}

std::int64_t out_len(const Extractor& e) {
  const auto* c = dynamic_cast<const Cnn2dExtractor*>(&e);
  BOOST_REQUIRE(c);
  return c->out_len();
}

// f32 [n] from values.
Tensor values(const std::vector<float>& v, const Shape& s) { return Tensor::from(v, s); }

}  // namespace

BOOST_AUTO_TEST_SUITE(extractor_cnn2d)

BOOST_AUTO_TEST_CASE(digits_8x8_default_config_gives_2x2_positions_of_32_channels) {
  core::Rng rng(1);
  auto e = cnn2d("", 8, 8, rng);  // 8x8 -> pool -> 4x4 -> pool -> 2x2
  BOOST_TEST(e->out_dim() == 32);
  BOOST_TEST(out_len(*e) == 4);
  BOOST_TEST(e->forward(Var(randn(Shape{3, 8, 8}, rng)), Tensor()).shape() == (Shape{3, 4, 32}));
  BOOST_TEST(e->params().size() == 4u);
}

BOOST_AUTO_TEST_CASE(fashion_mnist_28x28_gives_7x7_positions) {
  core::Rng rng(2);
  auto e = cnn2d("channels: [4, 6]", 28, 28, rng);  // 28x28 -> 14x14 -> 7x7
  BOOST_TEST(e->out_dim() == 6);
  BOOST_TEST(out_len(*e) == 49);
  BOOST_TEST(e->forward(Var(randn(Shape{2, 28, 28}, rng)), Tensor::full(Shape{2, 28}, 1.f)).shape() ==
             (Shape{2, 49, 6}));
}

BOOST_AUTO_TEST_CASE(odd_sizes_floor_through_the_pooling_and_pool_1_keeps_every_pixel) {
  core::Rng rng(3);
  auto pooled = cnn2d("channels: [3]\nkernel: 5\nactivation: gelu", 8, 5, rng);  // 5x8 -> 2x4
  BOOST_TEST(out_len(*pooled) == 8);
  BOOST_TEST(pooled->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor()).shape() == (Shape{2, 8, 3}));
  auto flat = cnn2d("channels: [3, 2]\npool: 1\nin_channels: 3\nactivation: tanh", 12, 5, rng);  // 5x4x3, no pooling
  BOOST_TEST(out_len(*flat) == 20);
  BOOST_TEST(flat->forward(Var(randn(Shape{2, 5, 12}, rng)), Tensor()).shape() == (Shape{2, 20, 2}));
}

// A 1-channel 4x4 image x[i][j] = 4i + j + 1, a 3x3 kernel with w[1][1] = 1 (centre) and
// w[2][2] = 0.5 (below right), bias 0.25, zero padding 1:
//   y[i][j] = x[i][j] + 0.5 * x[i+1][j+1] + 0.25   (x outside the image = 0); all > 0, so relu keeps them.
BOOST_AUTO_TEST_CASE(one_layer_matches_a_hand_computed_convolution) {
  core::Rng rng(4);
  auto e = cnn2d("channels: [1]\npool: 1", 4, 4, rng);
  std::vector<float> w(9, 0.f);
  w[4] = 1.f;
  w[8] = 0.5f;
  e->load_state({{"conv0_weight", values(w, Shape{1, 1, 3, 3})}, {"conv0_bias", values({0.25f}, Shape{1})}});
  std::vector<float> x(16);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i + 1);
  const std::vector<float> want{4.25f,  5.75f,  7.25f,  4.25f,   //
                                10.25f, 11.75f, 13.25f, 8.25f,   //
                                16.25f, 17.75f, 19.25f, 12.25f,  //
                                13.25f, 14.25f, 15.25f, 16.25f};
  const Tensor y = e->forward(Var(values(x, Shape{1, 4, 4})), Tensor()).value();
  BOOST_TEST(y.shape() == (Shape{1, 16, 1}));  // position i*4 + j
  BOOST_TEST(max_diff(y, values(want, Shape{1, 16, 1})) < 1e-6);
}

// Channels are last within a row: x[b, h, w*C + c]. A 1x1 kernel mixing channel 0 with weight 1
// and channel 1 with weight 10 reads each pixel's pair; then a 2x2 max pool picks per window.
BOOST_AUTO_TEST_CASE(rows_are_channels_last_and_positions_row_major) {
  core::Rng rng(5);
  auto e = cnn2d("channels: [1]\nkernel: 1\nin_channels: 2", 8, 2, rng);  // 2x4 pixels of 2 channels -> 1x2
  e->load_state({{"conv0_weight", values({1.f, 10.f}, Shape{1, 2, 1, 1})}, {"conv0_bias", values({0.f}, Shape{1})}});
  // Pixel (h, w) = (a, b): value a + 10 b. Row 0: (1,0) (2,0) (0,3) (0,1); row 1: (0,2) (5,0) (0,0) (4,0).
  const std::vector<float> x{1, 0, 2, 0, 0, 3, 0, 1,  //
                             0, 2, 5, 0, 0, 0, 4, 0};
  const Tensor y = e->forward(Var(values(x, Shape{1, 2, 8})), Tensor()).value();
  BOOST_TEST(y.shape() == (Shape{1, 2, 1}));
  // Window 0: pixels 1, 2, 20, 5 -> 20. Window 1: 30, 10, 0, 4 -> 30.
  BOOST_TEST(max_diff(y, values({20.f, 30.f}, Shape{1, 2, 1})) < 1e-6);
}

BOOST_AUTO_TEST_CASE(the_mask_is_ignored) {
  core::Rng rng(6);
  auto e = cnn2d("channels: [4]", 8, 5, rng);
  const Tensor x = randn(Shape{3, 5, 8}, rng);
  autograd::NoGrad ng;
  BOOST_TEST(max_diff(e->forward(Var(x), test_mask()).value(), e->forward(Var(x), Tensor()).value()) == 0.0);
}

// The registry-wide check probes the no-pooling override; this covers the max-pooling path
// (inputs pairwise far apart, as probe::distinct_values does, so no window ties under eps).
BOOST_AUTO_TEST_CASE(gradients_through_two_pooled_layers_match_finite_differences) {
  core::Rng rng(7);
  auto e = cnn2d("channels: [3, 2]\nactivation: tanh\nin_channels: 2", 16, 5, rng);  // 5x8x2 -> 2x4 -> 1x2
  const std::int64_t n = 2 * 5 * 16;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = static_cast<float>((i * 37) % n) / static_cast<float>(n) - 0.5f;
  const Var x(values(v, Shape{2, 5, 16}), true);
  std::vector<Checked> checked{{"x", x}};
  for (auto& [name, p] : e->named_params()) checked.push_back({name, p});
  const GradcheckResult r = gradcheck([&] { return e->forward(x, Tensor()); }, checked);
  BOOST_TEST(r.ok(), r.failed << " of " << r.checked << " off; worst " << r.worst);
}

BOOST_AUTO_TEST_CASE(bad_contexts_are_shape_errors) {
  core::Rng rng(8);
  expect_error<ShapeError>([&] { cnn2d("in_channels: 3", 8, 5, rng); },
                           {"extractor/cnn2d", "in_dim 8", "in_channels 3"});
  expect_error<ShapeError>([&] { cnn2d("", 8, 3, rng); }, {"extractor/cnn2d", "layer 1", "1x4", "[3, 8, 1]", "2x2"});
  expect_error<ShapeError>([&] { cnn2d("pool: 3", 2, 8, rng); }, {"extractor/cnn2d", "layer 0", "8x2", "3x3"});
}

BOOST_AUTO_TEST_CASE(bad_configs_are_reported) {
  core::Rng rng(9);
  expect_error<Error>([&] { cnn2d("channels: []", 8, 8, rng); }, {"extractor/cnn2d", "channels"});
  expect_error<Error>([&] { cnn2d("kernel: 4", 8, 8, rng); }, {"extractor/cnn2d", "kernel 4", "odd"});
  expect_error<config::ConfigError>([&] { cnn2d("channels: [4, 0]", 8, 8, rng); }, {"channels[1]"});
  expect_error<config::ConfigError>([&] { cnn2d("pool: 0", 8, 8, rng); }, {"pool"});
  expect_error<config::ConfigError>([&] { cnn2d("activation: sigmoid", 8, 8, rng); }, {"activation", "sigmoid"});
  expect_error<config::ConfigError>([&] { cnn2d("chanels: [4]", 8, 8, rng); }, {"channels"});
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_shape_errors) {
  core::Rng rng(10);
  auto e = cnn2d("channels: [2]", 8, 4, rng);
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 4, 6}, rng)), Tensor());
      },
      {"extractor/cnn2d", "[2, 4, 6]"});
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor());
      },
      {"extractor/cnn2d", "[B, 4, 8]", "[2, 5, 8]"});
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 4, 8}, rng)), Tensor::full(Shape{2, 3}, 1.f));
      },
      {"extractor/cnn2d", "mask [2, 3]"});
}

BOOST_AUTO_TEST_SUITE_END()
