#include <boost/test/unit_test.hpp>

#include "framework/ops/ops.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Pooling;

namespace {

std::unique_ptr<Pooling> max_pool(core::Rng& rng) {
  return make_plugin<Pooling>("type: max", {.dim = 8, .seq_len = 5, .rng = &rng});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pooling_max)

BOOST_AUTO_TEST_CASE(takes_the_maximum_over_real_steps_only) {
  core::Rng rng(1);
  auto p = max_pool(rng);
  BOOST_TEST(p->out_dim() == 8);
  const Tensor mask = test_mask();
  Tensor x = randn(Shape{3, 5, 8}, rng);
  for (std::int64_t h = 0; h < 8; ++h) x.f32()[(1 * 5 + 0) * 8 + h] = 100.f;  // a large padding step of row 1
  const Tensor y = p->forward(Var(x), mask).value();
  BOOST_TEST(y.shape() == (Shape{3, 8}));
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t h = 0; h < 8; ++h) {
      float want = -1e30f;
      for (std::int64_t t = 0; t < 5; ++t)
        if (mask.f32()[b * 5 + t] != 0.f) want = std::max(want, x.f32()[(b * 5 + t) * 8 + h]);
      BOOST_TEST(y.f32()[b * 8 + h] == want);
    }
  const Tensor y2 = p->forward(Var(scramble_padding(x, mask, rng)), mask).value();
  BOOST_TEST(max_diff(y, y2) == 0.0);
}

BOOST_AUTO_TEST_CASE(without_a_mask_every_step_counts) {
  core::Rng rng(2);
  auto p = max_pool(rng);
  const Tensor x = randn(Shape{2, 5, 8}, rng);
  BOOST_TEST(max_diff(p->forward(Var(x), Tensor()).value(),
                      p->forward(Var(x), Tensor::full(Shape{2, 5}, 1.f)).value()) == 0.0);
}

BOOST_AUTO_TEST_CASE(padding_only_rows_pool_to_zero_and_padding_gets_no_gradient) {
  core::Rng rng(3);
  auto p = max_pool(rng);
  Var x(randn(Shape{2, 5, 8}, rng), true);
  Var y = p->forward(x, mask_of({{0, 0, 0, 0, 0}, {1, 1, 0, 0, 0}}));
  for (std::int64_t h = 0; h < 8; ++h) BOOST_TEST(y.value().f32()[h] == 0.f);
  ops::sum_all(y).backward();
  const Tensor& g = x.grad();
  for (std::int64_t h = 0; h < 8; ++h) {
    for (std::int64_t t = 0; t < 5; ++t) BOOST_TEST(g.f32()[t * 8 + h] == 0.f);  // row 0
    for (std::int64_t t = 2; t < 5; ++t) BOOST_TEST(g.f32()[(5 + t) * 8 + h] == 0.f);
    BOOST_TEST(g.f32()[(5 + 0) * 8 + h] + g.f32()[(5 + 1) * 8 + h] == 1.f);  // one winner among the real steps
  }
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  core::Rng rng(4);
  auto p = max_pool(rng);
  check_golden("seq_max_pool", *p, [&](const Var& x, const Tensor& m, const Var&) { return p->forward(x, m); });
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_reported) {
  core::Rng rng(5);
  auto p = max_pool(rng);
  expect_error<ShapeError>([&] { p->forward(Var(randn(Shape{2, 5}, rng)), Tensor()); }, {"pooling/max", "[2, 5]"});
  expect_error<ShapeError>(
      [&] {
        p->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor::full(Shape{2, 4}, 1.f));
      },
      {"pooling/max", "mask [2, 4]"});
  expect_error<ShapeError>(
      [&] {
        p->forward(Var(randn(Shape{2, 5, 6}, rng)), Tensor());
      },
      {"pooling/max", "[2, 5, 6]"});
  expect_error<config::ConfigError>(
      [&] { make_plugin<Pooling>("type: max\nkernel: 3", {.dim = 8, .seq_len = 5, .rng = &rng}); }, {"kernel"});
}

BOOST_AUTO_TEST_SUITE_END()
