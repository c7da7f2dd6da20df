// attention/seed_self: PyTorch parity (golden from scripts/goldens/gen_attention.py) and behaviour.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/registry/registry.h"
#include "tests/support/golden.h"
#include "tests/support/golden_check.h"

#include <cmath>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
using testing::Golden;

namespace {

std::unique_ptr<model::Attention> make(const std::string& yaml, std::int64_t dim, core::Rng& rng) {
  return registry::Registry<model::Attention>::get().create(config::parse(yaml, "test"),
                                                            {.dim = dim, .seq_len = 5, .rng = &rng});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_seed_self)

BOOST_AUTO_TEST_CASE(matches_pytorch_with_padding_mask) {
  const Golden g = Golden::load("attn_seed_self");
  core::Rng rng(1);
  auto att = make("{type: seed_self}", 8, rng);
  std::map<std::string, Tensor> state;
  for (const auto& [name, v] : att->named_params()) state[name] = g.tensor("p." + name);
  att->load_state(state);
  Var x(g.tensor("x"), true);
  Var y = att->forward(x, g.tensor("mask"), {});
  testing::expect_golden_close("y", y.value(), g.tensor("y"));
  testing::expect_golden_close("weights", att->weights(), g.tensor("weights"));
  y.backward(g.tensor("r"));
  testing::expect_golden_close("grad x", x.grad(), g.tensor("gx"));
  for (const auto& [name, v] : att->named_params())
    testing::expect_golden_close("grad " + name, v.grad(), g.tensor("g." + name));
}

BOOST_AUTO_TEST_CASE(padding_keys_get_zero_weight_and_rows_sum_to_one) {
  core::Rng rng(2);
  auto att = make("{type: seed_self}", 8, rng);
  BOOST_TEST(att->out_dim() == 8);
  const Tensor x = nn::init::normal(rng)(Shape{2, 5, 8});
  const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, Shape{2, 5});
  Var y = att->forward(Var(x), mask, {});
  BOOST_TEST(y.shape() == (Shape{2, 5, 8}));
  const Tensor w = att->weights();
  BOOST_REQUIRE(w.shape() == (Shape{2, 5, 5}));
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t i = 0; i < 5; ++i) {
      double sum = 0;
      for (std::int64_t j = 0; j < 5; ++j) {
        if (b == 1 && j >= 2) BOOST_TEST(w.f32()[(b * 5 + i) * 5 + j] == 0.f);
        sum += w.f32()[(b * 5 + i) * 5 + j];
      }
      BOOST_TEST(std::abs(sum - 1.0) < 1e-5);
    }
}

BOOST_AUTO_TEST_SUITE_END()
