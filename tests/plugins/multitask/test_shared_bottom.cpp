// multitask/shared_bottom: one MLP, the same output for every task.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;

BOOST_AUTO_TEST_SUITE(multitask_shared_bottom)

BOOST_AUTO_TEST_CASE(every_task_gets_the_same_representation) {
  core::Rng rng(1);
  auto m = make_multitask("{type: shared_bottom, hidden: [6, 5], activation: tanh}",
                          multitask_context(4, {"a", "b", "c"}, rng));
  BOOST_TEST(m->out_dim() == 5);
  Var x = mt_input(3, 4);
  const auto out = m->forward(x);
  expect_outputs(out, 3, 3, 5);
  BOOST_TEST(out[0].value().to_vector() == out[2].value().to_vector());
  expect_gradient_reaches(*m, x, {"mlp.0.", "mlp.1."});
  expect_gradcheck(*m, x);
}

BOOST_AUTO_TEST_CASE(empty_hidden_is_the_identity) {
  core::Rng rng(2);
  auto m = make_multitask("{type: shared_bottom, hidden: []}", multitask_context(4, {"a", "b"}, rng));
  BOOST_TEST(m->out_dim() == 4);
  Var x = mt_input(2, 4);
  BOOST_TEST(m->forward(x)[1].value().to_vector() == x.value().to_vector());
}

BOOST_AUTO_TEST_CASE(bad_configs_contexts_and_inputs_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: shared_bottom, hidden: [0]}", multitask_context(4, {"a"}, rng)); }, {"hidden[0]"});
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: shared_bottom, activation: swish}", multitask_context(4, {"a"}, rng)); },
      {"activation"});
  expect_error<Error>([&] { make_multitask("{type: shared_bottom}", multitask_context(4, {}, rng)); },
                      {"shared_bottom", "task"});
  expect_error<Error>([&] { make_multitask("{type: shared_bottom}", multitask_context(0, {"a"}, rng)); }, {"in_dim"});
  auto m = make_multitask("{type: shared_bottom}", multitask_context(4, {"a"}, rng));
  expect_error<ShapeError>([&] { m->forward(mt_input(2, 3)); }, {"multitask/shared_bottom", "[2, 3]", "[B, 4]"});
}

BOOST_AUTO_TEST_SUITE_END()
