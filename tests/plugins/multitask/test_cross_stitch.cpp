// multitask/cross_stitch: towers mixed by learned [T, T] matrices.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(multitask_cross_stitch)

BOOST_AUTO_TEST_CASE(outputs_and_gradients) {
  core::Rng rng(1);
  auto m = make_multitask("{type: cross_stitch, hidden: [6, 5], activation: tanh, init_self: 0.8}",
                          multitask_context(4, {"a", "b", "c"}, rng));
  BOOST_TEST(m->out_dim() == 5);
  Var x = mt_input(3, 4);
  expect_outputs(m->forward(x), 3, 3, 5);
  expect_gradient_reaches(*m, x, {"towers.0.0.", "towers.2.1.", "stitch_0", "stitch_1"});
  expect_gradcheck(*m, x);
}

BOOST_AUTO_TEST_CASE(stitch_starts_near_identity_and_mixes_the_towers) {
  core::Rng rng(2);
  auto m =
      make_multitask("{type: cross_stitch, hidden: [3], init_self: 0.9}", multitask_context(2, {"a", "b", "c"}, rng));
  const auto a = m->param("stitch_0").value().to_vector();
  const std::vector<float> want{0.9f, 0.05f, 0.05f, 0.05f, 0.9f, 0.05f, 0.05f, 0.05f, 0.9f};
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i] == want[i], boost::test_tools::tolerance(1e-6f));

  // With one layer: out_t = sum_s A[t, s] relu(W_s x + b_s), by hand.
  Var x = mt_input(1, 2);
  const auto out = m->forward(x);
  const auto xv = x.value().to_vector();
  std::vector<std::vector<float>> h(3, std::vector<float>(3));
  for (int s = 0; s < 3; ++s) {
    const auto w = m->param(fmt::format("towers.{}.0.weight", s)).value().to_vector();
    const auto b = m->param(fmt::format("towers.{}.0.bias", s)).value().to_vector();
    for (int k = 0; k < 3; ++k) h[s][k] = std::max(0.f, w[k * 2] * xv[0] + w[k * 2 + 1] * xv[1] + b[k]);
  }
  for (int t = 0; t < 3; ++t) {
    const auto y = out[t].value().to_vector();
    for (int k = 0; k < 3; ++k) {
      float want_k = 0;
      for (int s = 0; s < 3; ++s) want_k += a[t * 3 + s] * h[s][k];
      BOOST_TEST(y[k] == want_k, boost::test_tools::tolerance(1e-5f));
    }
  }
}

BOOST_AUTO_TEST_CASE(one_task_has_an_identity_stitch) {
  core::Rng rng(3);
  auto m = make_multitask("{type: cross_stitch}", multitask_context(2, {"a"}, rng));
  BOOST_TEST(m->param("stitch_1").value().to_vector() == std::vector<float>{1.f});
}

BOOST_AUTO_TEST_CASE(bad_configs_throw) {
  core::Rng rng(4);
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: cross_stitch, init_self: 1.5}", multitask_context(4, {"a"}, rng)); }, {"init_self"});
  expect_error<Error>([&] { make_multitask("{type: cross_stitch, hidden: []}", multitask_context(4, {"a"}, rng)); },
                      {"multitask/cross_stitch", "hidden"});
}

BOOST_AUTO_TEST_SUITE_END()
