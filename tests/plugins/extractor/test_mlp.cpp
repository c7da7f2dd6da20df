#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "tests/plugins/seq_testing.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using model::Extractor;

namespace {

std::unique_ptr<Extractor> mlp(const std::string& yaml, std::int64_t in_dim, core::Rng& rng) {
  return make_plugin<Extractor>("type: mlp\n" + yaml, {.in_dim = in_dim, .seq_len = 5, .rng = &rng});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(extractor_mlp)

BOOST_AUTO_TEST_CASE(output_width_is_the_last_hidden_size) {
  core::Rng rng(1);
  auto d = mlp("", 8, rng);
  BOOST_TEST(d->out_dim() == 64);
  BOOST_TEST(d->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor()).shape() == (Shape{2, 5, 64}));
  auto e = mlp("hidden: [16, 3]", 8, rng);
  BOOST_TEST(e->out_dim() == 3);
  BOOST_TEST(e->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor::full(Shape{2, 5}, 1.f)).shape() == (Shape{2, 5, 3}));
}

BOOST_AUTO_TEST_CASE(steps_do_not_mix) {
  core::Rng rng(2);
  auto e = mlp("hidden: [6, 4]\nactivation: gelu", 5, rng);
  const Tensor mask = test_mask();
  const Tensor x = randn(Shape{3, 5, 5}, rng);
  autograd::NoGrad ng;
  const Tensor y1 = e->forward(Var(x), mask).value();
  const Tensor y2 = e->forward(Var(scramble_padding(x, mask, rng)), mask).value();
  BOOST_TEST(max_diff_real(y1, y2, mask) == 0.0);
}

BOOST_AUTO_TEST_CASE(relu_output_is_non_negative_unless_the_last_layer_is_linear) {
  core::Rng rng(3);
  const Tensor x = randn(Shape{4, 5, 3}, rng);
  autograd::NoGrad ng;
  const auto values = [&](const std::string& yaml) {
    return mlp(yaml, 3, rng)->forward(Var(x), Tensor()).value().to_vector();
  };
  const auto act = values("hidden: [8, 8]");
  BOOST_TEST(*std::min_element(act.begin(), act.end()) >= 0.f);
  const auto lin = values("hidden: [8, 8]\nactivate_last: false");
  BOOST_TEST(*std::min_element(lin.begin(), lin.end()) < 0.f);
}

BOOST_AUTO_TEST_CASE(dropout_acts_in_training_only) {
  core::Rng rng(4);
  auto e = mlp("hidden: [32, 4]\ndropout: 0.5", 4, rng);
  const Tensor x = randn(Shape{2, 5, 4}, rng);
  autograd::NoGrad ng;
  const Tensor train = e->forward(Var(x), Tensor()).value();
  e->eval();
  const Tensor eval1 = e->forward(Var(x), Tensor()).value(), eval2 = e->forward(Var(x), Tensor()).value();
  BOOST_TEST(max_diff(eval1, eval2) == 0.0);
  BOOST_TEST(max_diff(train, eval1) > 0.0);
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  core::Rng rng(5);
  auto e = mlp("hidden: [7, 5]\nactivation: tanh\nactivate_last: false", 6, rng);
  check_golden("seq_mlp", *e, [&](const Var& x, const Tensor& m, const Var&) { return e->forward(x, m); });
}

BOOST_AUTO_TEST_CASE(bad_configs_and_inputs_are_reported) {
  core::Rng rng(6);
  expect_error<Error>([&] { mlp("hidden: []", 4, rng); }, {"extractor/mlp", "hidden"});
  expect_error<config::ConfigError>([&] { mlp("hidden: [4, 0]", 4, rng); }, {"hidden[1]"});
  expect_error<config::ConfigError>([&] { mlp("dropout: 1.0", 4, rng); }, {"dropout"});
  expect_error<config::ConfigError>([&] { mlp("activation: elu", 4, rng); }, {"activation", "elu"});
  auto e = mlp("hidden: [4]", 4, rng);
  expect_error<ShapeError>([&] { e->forward(Var(randn(Shape{2, 4}, rng)), Tensor()); }, {"extractor/mlp", "[2, 4]"});
  expect_error<ShapeError>(
      [&] {
        e->forward(Var(randn(Shape{2, 5, 4}, rng)), Tensor::full(Shape{5, 2}, 1.f));
      },
      {"extractor/mlp", "mask [5, 2]"});
}

BOOST_AUTO_TEST_SUITE_END()
