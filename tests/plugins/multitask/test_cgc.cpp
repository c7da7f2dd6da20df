// multitask/cgc: one PLE level: shapes, gates, isolation of the other tasks' experts, gradients.
#include "plugins/multitask/cgc/ple_stack.h"
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(multitask_cgc)

BOOST_AUTO_TEST_CASE(outputs_gates_and_gradients) {
  core::Rng rng(1);
  auto m = make_multitask("{type: cgc, shared_experts: 2, task_experts: 3, expert_hidden: [5, 4], activation: tanh}",
                          multitask_context(6, {"a", "b", "c"}, rng));
  BOOST_TEST(m->out_dim() == 4);
  Var x = mt_input(5, 6);
  expect_outputs(m->forward(x), 3, 5, 4);
  const auto& cgc = dynamic_cast<const plugins::PleStack&>(*m);
  BOOST_TEST(cgc.levels() == 1);
  BOOST_TEST_REQUIRE(cgc.gates().size() == 1u);
  BOOST_TEST_REQUIRE(cgc.gates()[0].size() == 3u);  // no shared gate on the last level
  for (const auto& g : cgc.gates()[0]) {
    BOOST_TEST(g.shape() == (Shape{5, 5}));
    expect_rows_sum_to_one(g);
  }
  expect_gradient_reaches(*m, x, {"task_experts.0.", "task_experts.2.", "shared_experts.1.", "task_gates."});
  expect_gradcheck(*m, x);
}

BOOST_AUTO_TEST_CASE(a_task_ignores_other_tasks_experts) {
  core::Rng rng(2);
  auto m = make_multitask("{type: cgc, expert_hidden: [4]}", multitask_context(3, {"a", "b"}, rng));
  Var x = mt_input(2, 3);
  const auto before = m->forward(x);
  Var& w = m->param("levels.0.task_experts.1.0.0.weight");
  w.set_value(Tensor::full(w.shape(), 0.7f));
  const auto after = m->forward(x);
  BOOST_TEST(after[0].value().to_vector() == before[0].value().to_vector());
  BOOST_TEST(after[1].value().to_vector() != before[1].value().to_vector());
}

BOOST_AUTO_TEST_CASE(bad_configs_and_inputs_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: cgc, shared_experts: 0}", multitask_context(4, {"a"}, rng)); }, {"shared_experts"});
  expect_error<config::ConfigError>([&] { make_multitask("{type: cgc, levels: 2}", multitask_context(4, {"a"}, rng)); },
                                    {"levels"});
  expect_error<Error>([&] { make_multitask("{type: cgc, expert_hidden: []}", multitask_context(4, {"a"}, rng)); },
                      {"multitask/cgc", "expert_hidden"});
  auto m = make_multitask("{type: cgc}", multitask_context(4, {"a"}, rng));
  expect_error<ShapeError>([&] { m->forward(mt_input(2, 5)); }, {"multitask/cgc", "[2, 5]"});
}

BOOST_AUTO_TEST_SUITE_END()
