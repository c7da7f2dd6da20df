// multitask/ple: stacked CGC levels with shared gates between them.
#include "plugins/multitask/cgc/ple_stack.h"
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(multitask_ple)

BOOST_AUTO_TEST_CASE(outputs_gates_and_gradients) {
  core::Rng rng(1);
  auto m =
      make_multitask("{type: ple, levels: 3, shared_experts: 2, task_experts: 1, expert_hidden: [5], activation: tanh}",
                     multitask_context(4, {"a", "b", "c"}, rng));
  BOOST_TEST(m->out_dim() == 5);
  Var x = mt_input(3, 4);
  expect_outputs(m->forward(x), 3, 3, 5);
  const auto& ple = dynamic_cast<const plugins::PleStack&>(*m);
  BOOST_TEST(ple.levels() == 3);
  BOOST_TEST_REQUIRE(ple.gates().size() == 3u);
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST_REQUIRE(ple.gates()[j].size() == (j < 2 ? 4u : 3u));
    for (std::size_t g = 0; g < ple.gates()[j].size(); ++g) {
      BOOST_TEST(ple.gates()[j][g].shape() == (Shape{3, g < 3 ? 3 : 5}));  // task: 1 + 2; shared: 3 * 1 + 2
      expect_rows_sum_to_one(ple.gates()[j][g]);
    }
  }
  expect_gradient_reaches(*m, x,
                          {"levels.0.shared_gate", "levels.1.shared_gate", "levels.0.task_experts",
                           "levels.0.shared_experts", "levels.2.task_gates", "levels.2.shared_experts"});
  expect_gradcheck(*m, x);
}

BOOST_AUTO_TEST_CASE(later_levels_see_other_tasks_through_the_shared_gate) {
  core::Rng rng(2);
  auto m = make_multitask("{type: ple, levels: 2, expert_hidden: [4]}", multitask_context(3, {"a", "b"}, rng));
  BOOST_TEST(!m->named_params().empty());
  BOOST_CHECK_THROW(m->param("levels.1.shared_gate.weight"), Error);  // the last level has none
  Var x = mt_input(2, 3);
  const auto before = m->forward(x);
  Var& w = m->param("levels.0.task_experts.1.0.0.weight");
  w.set_value(Tensor::full(w.shape(), 0.7f));
  BOOST_TEST(m->forward(x)[0].value().to_vector() != before[0].value().to_vector());
}

BOOST_AUTO_TEST_CASE(one_level_is_cgc) {
  core::Rng a(3), b(3);
  auto ple = make_multitask("{type: ple, levels: 1}", multitask_context(4, {"a", "b"}, a));
  auto cgc = make_multitask("{type: cgc}", multitask_context(4, {"a", "b"}, b));
  Var x = mt_input(2, 4);
  BOOST_TEST(ple->forward(x)[1].value().to_vector() == cgc->forward(x)[1].value().to_vector());
}

BOOST_AUTO_TEST_CASE(bad_configs_throw) {
  core::Rng rng(4);
  expect_error<config::ConfigError>([&] { make_multitask("{type: ple, levels: 0}", multitask_context(4, {"a"}, rng)); },
                                    {"levels"});
  expect_error<Error>([&] { make_multitask("{type: ple}", multitask_context(4, {}, rng)); }, {"multitask/ple"});
}

BOOST_AUTO_TEST_SUITE_END()
