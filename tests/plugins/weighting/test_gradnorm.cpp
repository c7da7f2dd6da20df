// weighting/gradnorm: the weights' GradNorm gradient and the model gradient by hand; weights stay
// positive and sum to T while they train.
#include "framework/optim/adam.h"
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

#include <cmath>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

// L1 = a1 · θ, L2 = a2 · θ with a1 = (3, 4), a2 = (1, 0): ∇_θ L1 = (3, 4) (norm 5), ∇_θ L2 = (1, 0) (norm 1).
std::vector<Var> linear_losses(const Var& theta) {
  const Var a1(Tensor::from(std::vector<float>{3.f, 4.f}, Shape{2})),
      a2(Tensor::from(std::vector<float>{1.f, 0.f}, Shape{2}));
  return {ops::sum_all(theta * a1), ops::sum_all(theta * a2)};
}

// d/dw_t sum_s |w_s n_s - mean(w n) r_s^alpha|, written out for two tasks.
std::vector<double> gradnorm_grad(const double w[2], const double n[2], const double l[2], const double l0[2],
                                  double alpha) {
  const double rel[2] = {l[0] / l0[0], l[1] / l0[1]};
  const double mean_rel = (rel[0] + rel[1]) / 2, g_avg = (w[0] * n[0] + w[1] * n[1]) / 2;
  std::vector<double> out(2);
  for (int t = 0; t < 2; ++t) {
    const double target = g_avg * std::pow(rel[t] / mean_rel, alpha);
    const double d = w[t] * n[t] - target;
    out[t] = (d > 0 ? 1 : -1) * n[t];
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(weighting_gradnorm)

BOOST_AUTO_TEST_CASE(gradients_by_hand) {
  core::Rng rng(1);
  auto w = make_weighting("{type: gradnorm, alpha: 1.5}", weighting_context({"a", "b"}, rng));
  Var& tw = w->param("task_weights");
  Var theta(Tensor::from(std::vector<float>{1.f, 1.f}, Shape{2}), true);
  // Step 1: L = (7, 1) become the initial losses; w = (1, 1).
  w->backward(linear_losses(theta), {theta});
  BOOST_TEST(theta.grad().to_vector() == (std::vector<float>{4.f, 4.f}));
  const double n[2] = {5, 1}, l0[2] = {7, 1};
  auto want = gradnorm_grad(std::array<double, 2>{1, 1}.data(), n, l0, l0, 1.5);
  auto got = tw.grad().to_vector();
  for (int t = 0; t < 2; ++t) BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));

  // Step 2: w = (1.5, 0.5) (an optimizer's update), θ = (1, 0.25): L = (4, 1).
  tw.zero_grad();
  theta.zero_grad();
  tw.set_value(Tensor::from(std::vector<float>{1.5f, 0.5f}, Shape{2}));
  theta.set_value(Tensor::from(std::vector<float>{1.f, 0.25f}, Shape{2}));
  w->backward(linear_losses(theta), {theta});
  const auto g = theta.grad().to_vector();
  BOOST_TEST(g[0] == 1.5 * 3 + 0.5 * 1, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(g[1] == 1.5 * 4, boost::test_tools::tolerance(1e-5));
  const double l[2] = {4, 1};
  want = gradnorm_grad(std::array<double, 2>{1.5, 0.5}.data(), n, l, l0, 1.5);
  got = tw.grad().to_vector();
  for (int t = 0; t < 2; ++t) BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));
  BOOST_TEST(w->combine(linear_losses(theta)).value().item() == 1.5 * 4 + 0.5 * 1, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(weights_are_floored_and_rescaled) {
  core::Rng rng(2);
  auto w = make_weighting("{type: gradnorm, min_weight: 0.01}", weighting_context({"a", "b", "c"}, rng));
  w->param("task_weights").set_value(Tensor::from(std::vector<float>{4.f, -1.f, 2.f}, Shape{3}));
  const auto got = w->weights();
  const double total = 4 + 0.01 + 2;
  BOOST_TEST(got[0] == 3 * 4 / total, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(got[1] == 3 * 0.01 / total, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(got[2] == 3 * 2 / total, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(trained_weights_stay_positive_and_sum_to_t) {
  core::Rng rng(3);
  auto w = make_weighting("{type: gradnorm, alpha: 1.0}", weighting_context({"a", "b"}, rng));
  Var theta(Tensor::from(std::vector<float>{1.f, 1.f}, Shape{2}), true);
  std::vector<Var> params{theta};
  for (const auto& p : w->params()) params.push_back(p);
  optim::AdamConfig cfg;
  cfg.lr = 0.3f;
  optim::Adam adam(params, cfg);
  bool moved = false;
  for (int step = 0; step < 40; ++step) {
    adam.zero_grad();
    // Quadratic losses with very different gradient scales, so the weights move.
    const Var a(Tensor::from(std::vector<float>{10.f, 0.f}, Shape{2})),
        b(Tensor::from(std::vector<float>{0.f, 0.1f}, Shape{2}));
    w->backward({ops::sum_all(ops::square(theta * a)) + 0.1f, ops::sum_all(ops::square(theta * b)) + 0.1f}, {theta});
    adam.step();
    const auto ws = w->weights();
    BOOST_TEST(ws[0] > 0.f);
    BOOST_TEST(ws[1] > 0.f);
    BOOST_TEST(ws[0] + ws[1] == 2.f, boost::test_tools::tolerance(1e-5f));
    moved = moved || std::abs(ws[0] - 1.f) > 0.2f;
  }
  BOOST_TEST(moved, "the task weights never moved");
}

BOOST_AUTO_TEST_CASE(bad_configs_and_calls_throw) {
  core::Rng rng(4);
  expect_error<config::ConfigError>(
      [&] { make_weighting("{type: gradnorm, alpha: -1}", weighting_context({"a"}, rng)); }, {"alpha"});
  auto w = make_weighting("{type: gradnorm}", weighting_context({"a", "b"}, rng));
  Var theta(Tensor::from(std::vector<float>{1.f, 1.f}, Shape{2}), true);
  expect_error<Error>([&] { w->backward(linear_losses(theta), {}); }, {"weighting/gradnorm", "shared"});
  expect_error<ShapeError>([&] { w->backward({linear_losses(theta)[0]}, {theta}); },
                           {"weighting/gradnorm", "1 task losses for 2 tasks"});
}

BOOST_AUTO_TEST_SUITE_END()
