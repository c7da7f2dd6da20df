#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/ops/ops.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Extractor;

namespace {

std::unique_ptr<Extractor> cnn(const std::string& yaml, std::int64_t in_dim, core::Rng& rng) {
  return make_plugin<Extractor>("type: cnn\n" + yaml, {.in_dim = in_dim, .seq_len = 5, .rng = &rng});
}

// y [1, T, H] after changing x at step `t` of row 0: which output steps moved.
std::vector<bool> steps_changed(Extractor& e, const Tensor& x, std::int64_t t) {
  autograd::NoGrad ng;
  const Tensor before = e.forward(Var(x), Tensor()).value();
  Tensor x2 = x.clone();
  const std::int64_t T = x.shape()[1], H = x.shape()[2];
  for (std::int64_t h = 0; h < H; ++h) x2.f32()[t * H + h] += 1.f;
  const Tensor after = e.forward(Var(x2), Tensor()).value();
  const std::int64_t O = before.shape()[2];
  std::vector<bool> changed(static_cast<std::size_t>(T), false);
  for (std::int64_t s = 0; s < T; ++s)
    for (std::int64_t o = 0; o < O; ++o)
      if (std::fabs(before.f32()[s * O + o] - after.f32()[s * O + o]) > 1e-6f)
        changed[static_cast<std::size_t>(s)] = true;
  return changed;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(extractor_cnn)

BOOST_AUTO_TEST_CASE(default_config_keeps_the_sequence_length) {
  core::Rng rng(1);
  auto e = cnn("", 8, rng);
  BOOST_TEST(e->out_dim() == 64);
  const Tensor y = e->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor::full(Shape{2, 5}, 1.f)).value();
  BOOST_TEST(y.shape() == (Shape{2, 5, 64}));
}

BOOST_AUTO_TEST_CASE(parallel_branches_concatenate_their_channels) {
  core::Rng rng(2);
  auto e = cnn("kernel_sizes: [1, 2, 5]\nchannels: 3\nlayers: 2", 4, rng);
  BOOST_TEST(e->out_dim() == 9);
  BOOST_TEST(e->forward(Var(randn(Shape{3, 5, 4}, rng)), test_mask()).shape() == (Shape{3, 5, 9}));
  BOOST_TEST(e->params().size() == 12u);  // 2 layers x 3 branches x (weight, bias)
}

BOOST_AUTO_TEST_CASE(padding_steps_do_not_reach_real_steps_and_are_zero) {
  for (const char* yaml : {"kernel_sizes: [3, 4]\nchannels: 4\nlayers: 2\ndilation_growth: 2",
                           "kernel_sizes: [2]\nchannels: 4\nlayers: 3\ncausal: true\nactivation: tanh"}) {
    BOOST_TEST_CONTEXT(yaml) {
      core::Rng rng(3);
      auto e = cnn(yaml, 6, rng);
      const Tensor mask = test_mask();
      const Tensor x = randn(Shape{3, 5, 6}, rng);
      autograd::NoGrad ng;
      const Tensor y1 = e->forward(Var(x), mask).value();
      const Tensor y2 = e->forward(Var(scramble_padding(x, mask, rng)), mask).value();
      BOOST_TEST(max_diff(y1, y2) == 0.0);
      const Tensor pad = (1.f - Var(mask)).value();
      BOOST_TEST(max_diff_real(y1, Tensor::zeros(y1.shape()), pad) == 0.0);  // padding steps output zeros
    }
  }
}

BOOST_AUTO_TEST_CASE(causal_steps_see_only_the_past) {
  core::Rng rng(4);
  const Tensor x = randn(Shape{1, 5, 3}, rng);
  auto causal = cnn("kernel_sizes: [3]\nchannels: 4\nlayers: 2\ncausal: true", 3, rng);
  BOOST_TEST(steps_changed(*causal, x, 2) == (std::vector<bool>{false, false, true, true, true}),
             boost::test_tools::per_element());
  auto same = cnn("kernel_sizes: [3]\nchannels: 4\nlayers: 1", 3, rng);
  BOOST_TEST(steps_changed(*same, x, 2) == (std::vector<bool>{false, true, true, true, false}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dilation_growth_doubles_the_reach_of_each_layer) {
  core::Rng rng(5);
  const Tensor x = randn(Shape{1, 5, 3}, rng);
  // Kernel 2, dilations 1 and 2: step t sees t-3 .. t, so step 0 reaches steps 0..3 and not 4.
  auto grown = cnn("kernel_sizes: [2]\nchannels: 4\nlayers: 2\ncausal: true\ndilation_growth: 2", 3, rng);
  BOOST_TEST(steps_changed(*grown, x, 0) == (std::vector<bool>{true, true, true, true, false}),
             boost::test_tools::per_element());
  auto listed = cnn("kernel_sizes: [2]\nchannels: 4\nlayers: 2\ncausal: true\ndilations: [1, 1]", 3, rng);
  BOOST_TEST(steps_changed(*listed, x, 0) == (std::vector<bool>{true, true, true, false, false}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(dropout_acts_in_training_only) {
  core::Rng rng(6);
  auto e = cnn("channels: 16\ndropout: 0.5", 4, rng);
  const Tensor x = randn(Shape{2, 5, 4}, rng);
  autograd::NoGrad ng;
  const Tensor train = e->forward(Var(x), Tensor()).value();
  e->eval();
  const Tensor eval1 = e->forward(Var(x), Tensor()).value(), eval2 = e->forward(Var(x), Tensor()).value();
  BOOST_TEST(max_diff(eval1, eval2) == 0.0);
  BOOST_TEST(max_diff(train, eval1) > 0.0);
}

BOOST_AUTO_TEST_CASE(causal_dilated_residual_stack_matches_pytorch) {
  core::Rng rng(7);
  auto e = cnn("kernel_sizes: [2, 3]\nchannels: 4\nlayers: 3\ndilation_growth: 2\ncausal: true", 5, rng);
  check_golden("seq_cnn_causal", *e, [&](const Var& x, const Tensor& m, const Var&) { return e->forward(x, m); });
}

BOOST_AUTO_TEST_CASE(same_padding_with_an_even_kernel_matches_pytorch) {
  core::Rng rng(8);
  auto e = cnn("kernel_sizes: [4, 3]\nchannels: 3\nlayers: 2\ndilations: [1, 3]\nactivation: gelu", 6, rng);
  check_golden("seq_cnn_same", *e, [&](const Var& x, const Tensor& m, const Var&) { return e->forward(x, m); });
}

BOOST_AUTO_TEST_CASE(bad_configs_are_reported) {
  core::Rng rng(9);
  expect_error<Error>([&] { cnn("kernel_sizes: []", 4, rng); }, {"extractor/cnn", "kernel_sizes"});
  expect_error<Error>([&] { cnn("layers: 3\ndilations: [1, 2]", 4, rng); },
                      {"extractor/cnn", "2 entries for 3 layers"});
  expect_error<Error>([&] { cnn("layers: 2\ndilations: [1, 2]\ndilation_growth: 2", 4, rng); },
                      {"either dilations or dilation_growth"});
  expect_error<Error>([&] { cnn("layers: 6\ndilation_growth: 8", 4, rng); }, {"layer 5", "dilation 32768"});
  expect_error<config::ConfigError>([&] { cnn("kernel_sizes: [3, 0]", 4, rng); }, {"kernel_sizes[1]"});
  expect_error<config::ConfigError>([&] { cnn("activation: swish", 4, rng); }, {"activation", "swish"});
  expect_error<config::ConfigError>([&] { cnn("chanels: 4", 4, rng); }, {"channels"});
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_shape_errors) {
  core::Rng rng(10);
  auto e = cnn("channels: 4", 4, rng);
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 5, 3}, rng)), Tensor());
      },
      {"extractor/cnn", "[2, 5, 3]"});
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 5, 4}, rng)), Tensor::full(Shape{2, 4}, 1.f));
      },
      {"extractor/cnn", "mask [2, 4]", "[2, 5, 4]"});
  expect_error<DTypeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 5, 4}, rng)), Tensor::zeros(Shape{2, 5}, core::DType::i64));
      },
      {"extractor/cnn", "f32"});
}

BOOST_AUTO_TEST_SUITE_END()
