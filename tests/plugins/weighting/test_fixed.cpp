// weighting/fixed: constant weights from the config.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(weighting_fixed)

BOOST_AUTO_TEST_CASE(combines_with_the_configured_weights) {
  core::Rng rng(1);
  auto w = make_weighting("{type: fixed, weights: [0.5, 2.0]}", weighting_context({"a", "b"}, rng));
  BOOST_TEST(w->weights() == (std::vector<float>{0.5f, 2.f}));
  Var a(Tensor::scalar(3.f), true), b(Tensor::scalar(1.5f), true);
  w->backward({a, b}, {});
  BOOST_TEST(a.grad().item() == 0.5f);
  BOOST_TEST(b.grad().item() == 2.f);
  BOOST_TEST(w->combine({a, b}).value().item() == 4.5f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(empty_weights_are_all_one) {
  core::Rng rng(2);
  auto w = make_weighting("{type: fixed}", weighting_context({"a", "b", "c"}, rng));
  BOOST_TEST(w->weights() == (std::vector<float>{1.f, 1.f, 1.f}));
  BOOST_TEST(w->params().empty());
}

BOOST_AUTO_TEST_CASE(bad_configs_and_losses_throw) {
  core::Rng rng(3);
  expect_error<Error>(
      [&] {
        make_weighting("{type: fixed, weights: [1.0]}", weighting_context({"a", "b"}, rng));
      },
      {"weighting/fixed", "1 weights for 2 tasks", "a, b"});
  expect_error<config::ConfigError>(
      [&] {
        make_weighting("{type: fixed, weights: [1.0, -1.0]}", weighting_context({"a", "b"}, rng));
      },
      {"weights[1]"});
  expect_error<Error>([&] { make_weighting("{type: fixed}", weighting_context({}, rng)); },
                      {"weighting/fixed", "task"});
  auto w = make_weighting("{type: fixed}", weighting_context({"a", "b"}, rng));
  expect_error<ShapeError>([&] { w->combine({Var(Tensor::scalar(1.f))}); },
                           {"weighting/fixed", "1 task losses for 2 tasks"});
  expect_error<ShapeError>(
      [&] {
        w->combine({Var(Tensor::scalar(1.f)), Var(Tensor::zeros(Shape{2}))});
      },
      {"task loss 1", "[2]"});
}

BOOST_AUTO_TEST_SUITE_END()
