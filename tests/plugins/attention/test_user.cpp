#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Attention;

namespace {

std::unique_ptr<Attention> user(const std::string& yaml, core::Rng& rng, std::int64_t query_dim = 8) {
  return make_plugin<Attention>("type: user\n" + yaml, {.dim = 8, .query_dim = query_dim, .seq_len = 5, .rng = &rng});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_user)

BOOST_AUTO_TEST_CASE(pools_with_weights_that_sum_to_one_over_real_steps) {
  core::Rng rng(1);
  auto a = user("", rng);
  BOOST_TEST(a->pools());
  BOOST_TEST(a->out_dim() == 8);
  const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
  const Tensor y = a->forward(Var(x), mask, Var(randn(Shape{3, 8}, rng))).value();
  BOOST_TEST(y.shape() == (Shape{3, 8}));
  BOOST_TEST(a->weights().shape() == (Shape{3, 5}));
  expect_normalised(a->weights(), mask);
  for (std::int64_t h = 0; h < 8; ++h)
    BOOST_TEST(y.f32()[16 + h] == x.f32()[80 + h], boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(padding_steps_do_not_change_the_output) {
  core::Rng rng(2);
  auto a = user("attention_dim: 4\nquery_activation: relu", rng, 3);
  const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
  const Var q(randn(Shape{3, 3}, rng));
  autograd::NoGrad ng;
  const Tensor y1 = a->forward(Var(x), mask, q).value();
  const Tensor y2 = a->forward(Var(scramble_padding(x, mask, rng)), mask, q).value();
  BOOST_TEST(max_diff(y1, y2) < 1e-6);
}

BOOST_AUTO_TEST_CASE(different_users_weigh_the_same_history_differently) {
  core::Rng rng(3);
  auto a = user("", rng);
  const Var x(randn(Shape{1, 5, 8}, rng, 2.f));
  autograd::NoGrad ng;
  a->forward(x, Tensor(), Var(randn(Shape{1, 8}, rng)));
  const Tensor w1 = a->weights().clone();
  a->forward(x, Tensor(), Var(randn(Shape{1, 8}, rng)));
  BOOST_TEST(max_diff(w1, a->weights()) > 1e-3);
}

BOOST_AUTO_TEST_CASE(a_sequence_of_padding_only_pools_to_zero) {
  core::Rng rng(4);
  auto a = user("", rng);
  const Tensor mask = mask_of({{0, 0, 0, 0, 0}, {0, 1, 1, 0, 0}});
  const Tensor y = a->forward(Var(randn(Shape{2, 5, 8}, rng)), mask, Var(randn(Shape{2, 8}, rng))).value();
  for (std::int64_t h = 0; h < 8; ++h) BOOST_TEST(y.f32()[h] == 0.f);
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  core::Rng rng(5);
  auto a = user("attention_dim: 5\nquery_activation: tanh\nkey_bias: true", rng, 6);
  check_golden("seq_user", *a, [&](const Var& x, const Tensor& m, const Var& q) { return a->forward(x, m, q); });
  BOOST_TEST(max_rel_error(a->weights(), Golden::load("seq_user").tensor("weights")) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(missing_queries_and_bad_configs_are_reported) {
  core::Rng rng(6);
  expect_error<config::PathError>([&] { user("", rng, 0); }, {"type: attention/user", "model.query: user"});
  expect_error<config::ConfigError>([&] { user("query_activation: gelu", rng); }, {"query_activation", "gelu"});
  expect_error<config::ConfigError>([&] { user("attention_dim: -1", rng); }, {"attention_dim"});
  auto a = user("", rng, 4);
  const Var x(randn(Shape{2, 5, 8}, rng));
  expect_error<ShapeError>([&] { a->forward(x, Tensor(), Var()); }, {"attention/user", "needs a query [B, 4]"});
  expect_error<ShapeError>(
      [&] {
        a->forward(x, Tensor(), Var(randn(Shape{3, 4}, rng)));
      },
      {"attention/user", "[2, 4]", "[3, 4]"});
}

BOOST_AUTO_TEST_SUITE_END()
