// weighting/uncertainty: L = sum_t exp(-s_t) L_t + s_t, with the gradient of s_t checked by hand.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

#include <cmath>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(weighting_uncertainty)

BOOST_AUTO_TEST_CASE(loss_and_gradients_by_hand) {
  core::Rng rng(1);
  auto w = make_weighting("{type: uncertainty, init_log_var: 0.3}", weighting_context({"a", "b"}, rng));
  Var& s = w->param("log_vars");
  s.set_value(Tensor::from(std::vector<float>{0.3f, -0.7f}, Shape{2}));
  const double l[2] = {0.5, 2.0}, sv[2] = {0.3, -0.7};
  Var a(Tensor::scalar(0.5f), true), b(Tensor::scalar(2.f), true);
  Var total = w->combine({a, b});
  BOOST_TEST(total.value().item() == std::exp(-sv[0]) * l[0] + sv[0] + std::exp(-sv[1]) * l[1] + sv[1],
             boost::test_tools::tolerance(1e-5));
  w->backward({a, b}, {});
  const auto gs = s.grad().to_vector();
  for (int t = 0; t < 2; ++t) BOOST_TEST(gs[t] == 1.0 - std::exp(-sv[t]) * l[t], boost::test_tools::tolerance(1e-5));
  BOOST_TEST(a.grad().item() == std::exp(-sv[0]), boost::test_tools::tolerance(1e-5));
  BOOST_TEST(b.grad().item() == std::exp(-sv[1]), boost::test_tools::tolerance(1e-5));
  const auto weights = w->weights();
  BOOST_TEST(weights[1] == std::exp(0.7), boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(starts_at_init_log_var) {
  core::Rng rng(2);
  auto w = make_weighting("{type: uncertainty, init_log_var: 0.3}", weighting_context({"a", "b", "c"}, rng));
  BOOST_TEST(w->param("log_vars").value().to_vector() == std::vector<float>(3, 0.3f));
  BOOST_TEST(w->weights()[2] == std::exp(-0.3), boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(bad_configs_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_weighting("{type: uncertainty, init_log_var: 20}", weighting_context({"a"}, rng)); },
      {"init_log_var"});
  auto w = make_weighting("{type: uncertainty}", weighting_context({"a"}, rng));
  expect_error<ShapeError>([&] { w->combine({}); }, {"weighting/uncertainty", "0 task losses for 1 tasks"});
}

BOOST_AUTO_TEST_SUITE_END()
