#include <boost/test/unit_test.hpp>

#include "plugins/pooling/attention_pool/attention_pool.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Pooling;
using plugins::AttentionPooling;

namespace {

std::unique_ptr<Pooling> attention_pool(const std::string& yaml, core::Rng& rng) {
  return make_plugin<Pooling>("type: attention_pool\n" + yaml, {.dim = 8, .seq_len = 5, .rng = &rng});
}

const Tensor& weights_of(const Pooling& p) { return dynamic_cast<const AttentionPooling&>(p).weights(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(pooling_attention_pool)

BOOST_AUTO_TEST_CASE(pools_with_weights_that_sum_to_one_over_real_steps) {
  for (const char* yaml : {"", "attention_dim: 3", "projection: false"}) {
    BOOST_TEST_CONTEXT("'" << yaml << "'") {
      core::Rng rng(1);
      auto p = attention_pool(yaml, rng);
      BOOST_TEST(p->out_dim() == 8);
      BOOST_TEST(!weights_of(*p).defined());
      const Tensor mask = test_mask(), x = randn(Shape{3, 5, 8}, rng);
      const Tensor y = p->forward(Var(x), mask).value();
      BOOST_TEST(y.shape() == (Shape{3, 8}));
      BOOST_TEST(weights_of(*p).shape() == (Shape{3, 5}));
      expect_normalised(weights_of(*p), mask);
      for (std::int64_t h = 0; h < 8; ++h)
        BOOST_TEST(y.f32()[16 + h] == x.f32()[80 + h], boost::test_tools::tolerance(1e-6f));
      autograd::NoGrad ng;
      BOOST_TEST(max_diff(y, p->forward(Var(scramble_padding(x, mask, rng)), mask).value()) < 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_sequence_of_padding_only_pools_to_zero) {
  core::Rng rng(2);
  auto p = attention_pool("", rng);
  const Tensor y = p->forward(Var(randn(Shape{2, 5, 8}, rng)), mask_of({{0, 0, 0, 0, 0}, {0, 0, 0, 0, 1}})).value();
  for (std::int64_t h = 0; h < 8; ++h) BOOST_TEST(y.f32()[h] == 0.f);
  for (std::int64_t t = 0; t < 5; ++t) BOOST_TEST(weights_of(*p).f32()[t] == 0.f);
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  core::Rng rng(3);
  auto p = attention_pool("attention_dim: 6", rng);
  check_golden("seq_attention_pool", *p, [&](const Var& x, const Tensor& m, const Var&) { return p->forward(x, m); });
  BOOST_TEST(max_rel_error(weights_of(*p), Golden::load("seq_attention_pool").tensor("weights")) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(bad_configs_and_inputs_are_reported) {
  core::Rng rng(4);
  expect_error<Error>([&] { attention_pool("projection: false\nattention_dim: 4", rng); },
                      {"pooling/attention_pool", "projection"});
  expect_error<config::ConfigError>([&] { attention_pool("attention_dim: 0", rng); }, {"attention_dim"});
  auto p = attention_pool("", rng);
  expect_error<ShapeError>(
      [&] {
        p->forward(Var(randn(Shape{2, 5, 6}, rng)), Tensor());
      },
      {"pooling/attention_pool", "[2, 5, 6]"});
  expect_error<ShapeError>(
      [&] {
        p->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor::full(Shape{1, 5}, 1.f));
      },
      {"pooling/attention_pool", "mask [1, 5]"});
}

BOOST_AUTO_TEST_SUITE_END()
