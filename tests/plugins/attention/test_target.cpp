#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Attention;

namespace {

std::unique_ptr<Attention> target(const std::string& yaml, core::Rng& rng, std::int64_t query_dim = 8) {
  return make_plugin<Attention>("type: target\n" + yaml, {.dim = 8, .query_dim = query_dim, .seq_len = 5, .rng = &rng});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_target)

BOOST_AUTO_TEST_CASE(defaults_pool_the_history_with_unnormalised_weights) {
  core::Rng rng(1);
  auto a = target("", rng);
  BOOST_TEST(a->pools());
  BOOST_TEST(a->out_dim() == 8);
  BOOST_TEST(a->params().size() == 6u);  // layer0, layer1, score: weight and bias; no projection (query_dim == dim)
  const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
  const Tensor y = a->forward(Var(x), mask, Var(randn(Shape{3, 8}, rng))).value();
  BOOST_TEST(y.shape() == (Shape{3, 8}));
  const Tensor& w = a->weights();
  BOOST_TEST(w.shape() == (Shape{3, 5}));
  // normalize: none: the weight of a real step is the raw score, padding steps are exactly 0.
  double row0 = 0;
  for (std::int64_t t = 0; t < 5; ++t) row0 += w.f32()[t];
  BOOST_TEST(std::fabs(row0 - 1.0) > 1e-3);
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t t = 0; t < 5; ++t)
      if (mask.f32()[b * 5 + t] == 0.f) BOOST_TEST(w.f32()[b * 5 + t] == 0.f);
  // Output = Σ w_t x_t: row 2 has one real step.
  for (std::int64_t h = 0; h < 8; ++h)
    BOOST_TEST(y.f32()[16 + h] == w.f32()[10] * x.f32()[80 + h], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(softmax_weights_sum_to_one_over_real_steps) {
  core::Rng rng(2);
  for (const char* act : {"sigmoid", "relu", "prelu"}) {
    BOOST_TEST_CONTEXT(act) {
      auto a = target(std::string("normalize: softmax\nactivation: ") + act, rng);
      const Tensor mask = test_mask();
      a->forward(Var(randn(Shape{3, 5, 8}, rng)), mask, Var(randn(Shape{3, 8}, rng)));
      expect_normalised(a->weights(), mask);
    }
  }
}

BOOST_AUTO_TEST_CASE(padding_steps_do_not_change_the_output) {
  core::Rng rng(3);
  for (const char* norm : {"none", "softmax"}) {
    BOOST_TEST_CONTEXT(norm) {
      auto a = target(std::string("normalize: ") + norm, rng, 5);
      const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
      const Var q(randn(Shape{3, 5}, rng));
      autograd::NoGrad ng;
      const Tensor y1 = a->forward(Var(x), mask, q).value();
      const Tensor y2 = a->forward(Var(scramble_padding(x, mask, rng)), mask, q).value();
      BOOST_TEST(max_diff(y1, y2) < 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_candidate_changes_the_weights) {
  core::Rng rng(4);
  auto a = target("", rng);
  const Var x(randn(Shape{1, 5, 8}, rng));
  autograd::NoGrad ng;
  a->forward(x, Tensor(), Var(randn(Shape{1, 8}, rng)));
  const Tensor w1 = a->weights().clone();
  a->forward(x, Tensor(), Var(randn(Shape{1, 8}, rng)));
  BOOST_TEST(max_diff(w1, a->weights()) > 1e-4);
}

BOOST_AUTO_TEST_CASE(sigmoid_mlp_with_a_projected_query_matches_pytorch) {
  core::Rng rng(5);
  auto a = target("hidden: [7, 5]", rng, 6);
  check_golden("seq_target_none", *a, [&](const Var& x, const Tensor& m, const Var& q) { return a->forward(x, m, q); });
  BOOST_TEST(max_rel_error(a->weights(), Golden::load("seq_target_none").tensor("weights")) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(prelu_mlp_with_softmax_matches_pytorch) {
  core::Rng rng(6);
  auto a = target("hidden: [6]\nactivation: prelu\nnormalize: softmax", rng, 8);
  check_golden("seq_target_softmax", *a,
               [&](const Var& x, const Tensor& m, const Var& q) { return a->forward(x, m, q); });
}

BOOST_AUTO_TEST_CASE(missing_queries_and_bad_configs_are_reported) {
  core::Rng rng(7);
  expect_error<ShapeError>([&] { target("", rng, 0); }, {"attention/target", "query_dim 0"});
  expect_error<config::ConfigError>([&] { target("normalize: sum", rng); }, {"normalize", "sum"});
  expect_error<config::ConfigError>([&] { target("activation: dice", rng); }, {"activation", "dice"});
  expect_error<config::ConfigError>([&] { target("hidden: [0]", rng); }, {"hidden[0]"});
  auto a = target("", rng, 4);
  const Var x(randn(Shape{2, 5, 8}, rng));
  expect_error<ShapeError>([&] { a->forward(x, Tensor(), Var()); }, {"attention/target", "needs a query [B, 4]"});
  expect_error<ShapeError>(
      [&] {
        a->forward(x, Tensor(), Var(randn(Shape{2, 8}, rng)));
      },
      {"attention/target", "[2, 4]", "[2, 8]"});
  expect_error<ShapeError>(
      [&] {
        a->forward(x, Tensor::full(Shape{2, 6}, 1.f), Var(randn(Shape{2, 4}, rng)));
      },
      {"attention/target", "mask [2, 6]"});
}

BOOST_AUTO_TEST_SUITE_END()
