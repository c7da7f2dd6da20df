#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/ops/ops.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

#include <cmath>

using namespace attnlab;
using namespace attnlab::testing;
using model::Attention;

namespace {

std::unique_ptr<Attention> additive(const std::string& yaml, core::Rng& rng, std::int64_t query_dim = 0) {
  return make_plugin<Attention>("type: additive\n" + yaml,
                                {.dim = 8, .query_dim = query_dim, .seq_len = 5, .rng = &rng});
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_additive)

BOOST_AUTO_TEST_CASE(self_attention_keeps_the_sequence_and_normalises_over_real_keys) {
  core::Rng rng(1);
  auto a = additive("", rng);
  BOOST_TEST(!a->pools());
  BOOST_TEST(a->out_dim() == 8);
  const Tensor mask = test_mask();
  const Tensor y = a->forward(Var(randn(Shape{3, 5, 8}, rng)), mask, Var()).value();
  BOOST_TEST(y.shape() == (Shape{3, 5, 8}));
  BOOST_TEST(a->weights().shape() == (Shape{3, 5, 5}));
  expect_normalised(a->weights(), mask);
}

BOOST_AUTO_TEST_CASE(self_attention_ignores_what_padding_steps_contain) {
  core::Rng rng(2);
  auto a = additive("attention_dim: 4", rng);
  const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
  autograd::NoGrad ng;
  const Tensor y1 = a->forward(Var(x), mask, Var()).value();
  const Tensor y2 = a->forward(Var(scramble_padding(x, mask, rng)), mask, Var()).value();
  BOOST_TEST(max_diff_real(y1, y2, mask) < 1e-6);
}

BOOST_AUTO_TEST_CASE(causal_rows_see_no_future_and_rows_without_keys_are_zero) {
  core::Rng rng(3);
  auto a = additive("causal: true", rng);
  const Tensor mask = test_mask();
  const Tensor y = a->forward(Var(randn(Shape{3, 5, 8}, rng)), mask, Var()).value();
  const Tensor& w = a->weights();
  BOOST_TEST(all_finite(y));
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t i = 0; i < 5; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j < 5; ++j) {
        const float wij = w.f32()[(b * 5 + i) * 5 + j];
        s += wij;
        if (j > i || mask.f32()[b * 5 + j] == 0.f) BOOST_TEST(wij == 0.f);
      }
      const bool has_key = (b == 1) ? i >= 2 : true;  // row 1 is left-padded by 2
      BOOST_TEST(s == (has_key ? 1.0 : 0.0), boost::test_tools::tolerance(1e-5));
      if (!has_key)
        for (std::int64_t h = 0; h < 8; ++h) BOOST_TEST(y.f32()[(b * 5 + i) * 8 + h] == 0.f);
    }
}

BOOST_AUTO_TEST_CASE(a_sequence_of_padding_only_gives_zeros_not_nan) {
  core::Rng rng(4);
  const Tensor mask = mask_of({{0, 0, 0, 0, 0}, {1, 1, 0, 0, 0}});
  for (const char* yaml : {"query_from: self", "query_from: context"}) {
    BOOST_TEST_CONTEXT(yaml) {
      auto a = additive(yaml, rng, 6);
      Var x(randn(Shape{2, 5, 8}, rng), true);
      Var y = a->forward(x, mask, Var(randn(Shape{2, 6}, rng)));
      BOOST_TEST(all_finite(y.value()));
      BOOST_TEST(all_finite(a->weights()));
      for (std::int64_t i = 0; i < y.value().numel() / 2; ++i) BOOST_TEST(y.value().f32()[i] == 0.f);
      ops::sum_all(y).backward();
      BOOST_TEST(all_finite(x.grad()));
    }
  }
}

BOOST_AUTO_TEST_CASE(context_query_pools_the_sequence) {
  core::Rng rng(5);
  auto a = additive("query_from: context\nattention_dim: 5", rng, 6);
  BOOST_TEST(a->pools());
  const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
  const Var q(randn(Shape{3, 6}, rng));
  autograd::NoGrad ng;
  const Tensor y1 = a->forward(Var(x), mask, q).value();
  BOOST_TEST(y1.shape() == (Shape{3, 8}));
  BOOST_TEST(a->weights().shape() == (Shape{3, 5}));
  expect_normalised(a->weights(), mask);
  const Tensor y2 = a->forward(Var(scramble_padding(x, mask, rng)), mask, q).value();
  BOOST_TEST(max_diff(y1, y2) < 1e-6);
  // Row 2 has one real step: its output is that step.
  for (std::int64_t h = 0; h < 8; ++h)
    BOOST_TEST(y1.f32()[2 * 8 + h] == x.f32()[2 * 40 + h], boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(self_attention_matches_pytorch) {
  core::Rng rng(6);
  auto a = additive("attention_dim: 6\ncausal: true", rng);
  check_golden("seq_additive_self", *a,
               [&](const Var& x, const Tensor& m, const Var&) { return a->forward(x, m, Var()); });
  BOOST_TEST(max_rel_error(a->weights(), Golden::load("seq_additive_self").tensor("weights")) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(context_attention_matches_pytorch) {
  core::Rng rng(7);
  auto a = additive("query_from: context\nattention_dim: 5", rng, 6);
  check_golden("seq_additive_context", *a,
               [&](const Var& x, const Tensor& m, const Var& q) { return a->forward(x, m, q); });
}

BOOST_AUTO_TEST_CASE(missing_queries_and_bad_configs_are_reported) {
  core::Rng rng(8);
  expect_error<ShapeError>([&] { additive("query_from: context", rng, 0); }, {"attention/additive", "query_dim 0"});
  expect_error<Error>([&] { additive("query_from: context\ncausal: true", rng, 4); }, {"attention/additive", "causal"});
  expect_error<config::ConfigError>([&] { additive("query_from: user", rng, 4); }, {"query_from", "user"});
  expect_error<config::ConfigError>([&] { additive("attention_dim: 0", rng); }, {"attention_dim"});
  auto a = additive("query_from: context", rng, 4);
  const Var x(randn(Shape{2, 5, 8}, rng));
  expect_error<ShapeError>([&] { a->forward(x, Tensor(), Var()); }, {"attention/additive", "needs a query [B, 4]"});
  expect_error<ShapeError>(
      [&] {
        a->forward(x, Tensor(), Var(randn(Shape{2, 5}, rng)));
      },
      {"attention/additive", "[2, 4]", "[2, 5]"});
  expect_error<ShapeError>(
      [&] {
        a->forward(Var(randn(Shape{2, 5, 7}, rng)), Tensor(), Var());
      },
      {"attention/additive", "[2, 5, 7]"});
}

BOOST_AUTO_TEST_SUITE_END()
