// multitask/task_attention: per-task towers, then attention over the tasks with learned queries.
#include "plugins/multitask/task_attention/task_attention.h"
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

#include <cmath>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(multitask_task_attention)

BOOST_AUTO_TEST_CASE(outputs_weights_and_gradients) {
  for (const bool residual : {false, true}) {
    BOOST_TEST_CONTEXT("residual " << residual) {
      core::Rng rng(1);
      auto m = make_multitask(
          fmt::format("{{type: task_attention, hidden: [6, 5], activation: tanh, residual: {}}}", residual),
          multitask_context(4, {"a", "b", "c"}, rng));
      BOOST_TEST(m->out_dim() == 5);
      Var x = mt_input(2, 4);
      expect_outputs(m->forward(x), 3, 2, 5);
      const Tensor& w = dynamic_cast<const plugins::TaskAttention&>(*m).weights();
      BOOST_TEST(w.shape() == (Shape{2, 3, 3}));
      expect_rows_sum_to_one(w);
      expect_gradient_reaches(*m, x, {"towers.0.", "towers.1.", "towers.2.", "queries"});
      expect_gradcheck(*m, x);
    }
  }
}

BOOST_AUTO_TEST_CASE(matches_the_formula_by_hand) {
  core::Rng rng(2);
  auto m =
      make_multitask("{type: task_attention, hidden: [3], activation: none}", multitask_context(2, {"a", "b"}, rng));
  Var& q = m->param("queries");
  q.set_value(Tensor::from(std::vector<float>{1.f, -2.f, 0.5f, 0.f, 3.f, 1.f}, Shape{2, 3}));
  Var x = mt_input(1, 2);
  const auto out = m->forward(x);
  const auto xv = x.value().to_vector();
  std::vector<std::vector<double>> h(2, std::vector<double>(3));
  for (int s = 0; s < 2; ++s) {
    const auto w = m->param(fmt::format("towers.{}.0.weight", s)).value().to_vector();
    const auto b = m->param(fmt::format("towers.{}.0.bias", s)).value().to_vector();
    for (int k = 0; k < 3; ++k) h[s][k] = w[k * 2] * xv[0] + w[k * 2 + 1] * xv[1] + b[k];
  }
  const auto qv = q.value().to_vector();
  for (int t = 0; t < 2; ++t) {
    double score[2];
    for (int s = 0; s < 2; ++s) {
      score[s] = 0;
      for (int k = 0; k < 3; ++k) score[s] += qv[t * 3 + k] * h[s][k];
      score[s] /= std::sqrt(3.0);
    }
    const double a0 = 1.0 / (1.0 + std::exp(score[1] - score[0]));
    const auto y = out[t].value().to_vector();
    for (int k = 0; k < 3; ++k)
      BOOST_TEST(y[k] == a0 * h[0][k] + (1 - a0) * h[1][k], boost::test_tools::tolerance(1e-5));
  }
}

BOOST_AUTO_TEST_CASE(bad_configs_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: task_attention, residual: 3}", multitask_context(4, {"a"}, rng)); }, {"residual"});
  expect_error<Error>([&] { make_multitask("{type: task_attention, hidden: []}", multitask_context(4, {"a"}, rng)); },
                      {"multitask/task_attention", "hidden"});
}

BOOST_AUTO_TEST_SUITE_END()
