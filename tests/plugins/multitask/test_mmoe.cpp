// multitask/mmoe: shapes, gates, gradient flow, errors, and PyTorch parity
// (scripts/goldens/gen_mmoe.py: experts Linear+ReLU, softmax gates, weights loaded by name).
#include "plugins/multitask/mmoe/mmoe.h"
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"
#include "tests/support/golden.h"
#include "tests/support/golden_check.h"

#include <algorithm>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {}  // namespace

BOOST_AUTO_TEST_SUITE(multitask_mmoe)

BOOST_AUTO_TEST_CASE(outputs_gates_and_gradients) {
  core::Rng rng(1);
  auto m = make_multitask("{type: mmoe, num_experts: 3, expert_hidden: [7, 5], activation: tanh}",
                          multitask_context(4, {"ctr", "cvr"}, rng));
  BOOST_TEST(m->out_dim() == 5);
  Var x = mt_input(6, 4);
  const auto out = m->forward(x);
  expect_outputs(out, 2, 6, 5);
  const auto& gates = dynamic_cast<const plugins::Mmoe&>(*m).gates();
  BOOST_TEST(gates.size() == 2u);
  for (const auto& g : gates) {
    BOOST_TEST(g.shape() == (Shape{6, 3}));
    expect_rows_sum_to_one(g);
  }
  BOOST_TEST(gates[0].to_vector() != gates[1].to_vector());
  expect_gradient_reaches(*m, x, {"experts.0.", "experts.1.", "experts.2.", "gates."});
  expect_gradcheck(*m, x);
}

BOOST_AUTO_TEST_CASE(output_is_the_gate_mixture_of_experts) {
  core::Rng rng(2);
  auto m = make_multitask("{type: mmoe, num_experts: 2, expert_hidden: [3]}", multitask_context(2, {"a"}, rng));
  Var x = mt_input(1, 2);
  const auto y = m->forward(x)[0].value().to_vector();
  const auto g = dynamic_cast<const plugins::Mmoe&>(*m).gates()[0].to_vector();
  // Each expert by hand: relu(W x + b).
  std::vector<std::vector<float>> e(2, std::vector<float>(3));
  const auto xv = x.value().to_vector();
  for (int k = 0; k < 2; ++k) {
    const auto w = m->param(fmt::format("experts.{}.0.weight", k)).value().to_vector();
    const auto b = m->param(fmt::format("experts.{}.0.bias", k)).value().to_vector();
    for (int h = 0; h < 3; ++h) e[k][h] = std::max(0.f, w[h * 2] * xv[0] + w[h * 2 + 1] * xv[1] + b[h]);
  }
  for (int h = 0; h < 3; ++h) BOOST_TEST(y[h] == g[0] * e[0][h] + g[1] * e[1][h], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(bad_configs_and_inputs_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_multitask("{type: mmoe, num_experts: 0}", multitask_context(4, {"a"}, rng)); }, {"num_experts"});
  expect_error<Error>([&] { make_multitask("{type: mmoe, expert_hidden: []}", multitask_context(4, {"a"}, rng)); },
                      {"multitask/mmoe", "expert_hidden"});
  auto m = make_multitask("{type: mmoe}", multitask_context(4, {"a"}, rng));
  expect_error<ShapeError>([&] { m->forward(Var(Tensor::zeros(Shape{2, 4, 1}))); }, {"multitask/mmoe", "[2, 4, 1]"});
}

BOOST_AUTO_TEST_CASE(matches_pytorch) {
  const Golden gold = Golden::load("mmoe");
  const Tensor xt = gold.tensor("x");
  const std::int64_t in = xt.shape()[1];
  const auto experts = gold.tensor("meta_num_experts").to_vector()[0];
  const auto hidden = gold.tensor("meta_hidden").to_vector()[0];
  const auto tasks = static_cast<int>(gold.tensor("meta_tasks").to_vector()[0]);
  core::Rng rng(4);
  std::vector<std::string> names;
  for (int t = 0; t < tasks; ++t) names.push_back(fmt::format("task{}", t));
  auto m = make_multitask(fmt::format("{{type: mmoe, num_experts: {}, expert_hidden: [{}]}}", experts, hidden),
                          multitask_context(in, names, rng));
  std::map<std::string, Tensor> state;
  for (const auto& [name, p] : m->named_params()) state[name] = gold.tensor(name);
  m->load_state(state);

  Var x(xt, true);
  const auto out = m->forward(x);
  for (int t = 0; t < tasks; ++t) {
    testing::expect_golden_close(fmt::format("out{}", t), out[t].value(), gold.tensor(fmt::format("out{}", t)));
    testing::expect_golden_close(fmt::format("gate{}", t), dynamic_cast<const plugins::Mmoe&>(*m).gates()[t],
                                 gold.tensor(fmt::format("gate{}", t)));
  }
  std::vector<Var> weighted;
  for (int t = 0; t < tasks; ++t) weighted.push_back(ops::sum_all(out[t] * Var(gold.tensor(fmt::format("r{}", t)))));
  Var loss = weighted[0];
  for (int t = 1; t < tasks; ++t) loss = loss + weighted[t];
  loss.backward();
  testing::expect_golden_close("grad x", x.grad(), gold.tensor("grad.x"));
  for (const auto& [name, p] : m->named_params())
    testing::expect_golden_close("grad " + name, p.grad(), gold.tensor("grad." + name));
}

BOOST_AUTO_TEST_SUITE_END()
