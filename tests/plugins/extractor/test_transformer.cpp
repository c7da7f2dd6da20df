// extractor/transformer: PyTorch parity against torch.nn.TransformerEncoder(Layer) goldens from
// scripts/goldens/gen_attention.py, and behaviour (masks, causality, shapes, config errors).
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"
#include "tests/support/golden.h"
#include "tests/support/golden_check.h"
#include "tests/support/gradcheck.h"

#include <cmath>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
using testing::Golden;

namespace {

std::unique_ptr<model::Extractor> make(const std::string& yaml, std::int64_t in_dim, core::Rng& rng) {
  return registry::Registry<model::Extractor>::get().create(config::parse(yaml, "test"),
                                                            {.in_dim = in_dim, .seq_len = 5, .rng = &rng});
}

Tensor randn(const Shape& s, core::Rng& rng) { return nn::init::normal(rng)(s); }

void check_golden(const std::string& golden, const std::string& yaml, std::int64_t in_dim) {
  const Golden g = Golden::load(golden);
  core::Rng rng(1);
  auto ext = make(yaml, in_dim, rng);
  testing::load_golden(*ext, g);
  Var x(g.tensor("x"), true);
  Var y = ext->forward(x, g.tensor("mask"));
  testing::expect_golden_close("y", y.value(), g.tensor("y"));
  y.backward(g.tensor("r"));
  testing::expect_golden_close("grad x", x.grad(), g.tensor("gx"));
  for (const auto& [name, v] : ext->named_params())
    testing::expect_golden_close("grad " + name, v.grad(), g.tensor("g." + name));
}

// Largest |a - b| over steps [t0, t1) of batch row b of two [B, T, H] tensors.
float step_diff(const Tensor& a, const Tensor& c, std::int64_t b, std::int64_t t0, std::int64_t t1) {
  const std::int64_t T = a.shape()[1], H = a.shape()[2];
  float d = 0.f;
  for (std::int64_t t = t0; t < t1; ++t)
    for (std::int64_t h = 0; h < H; ++h)
      d = std::max(d, std::abs(a.f32()[(b * T + t) * H + h] - c.f32()[(b * T + t) * H + h]));
  return d;
}

Tensor with_step_changed(const Tensor& x, std::int64_t b, std::int64_t t) {
  Tensor y = x.clone();
  const std::int64_t T = x.shape()[1], H = x.shape()[2];
  for (std::int64_t h = 0; h < H; ++h) y.f32()[(b * T + t) * H + h] += 1.5f;
  return y;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(extractor_transformer)

BOOST_AUTO_TEST_CASE(one_post_norm_relu_layer_matches_pytorch) {
  check_golden("attn_transformer_post_relu_1",
               "{type: transformer, layers: 1, num_heads: 2, ffn_dim: 12, dropout: 0.0}", 8);
}

BOOST_AUTO_TEST_CASE(two_pre_norm_gelu_causal_layers_with_final_norm_match_pytorch) {
  check_golden(
      "attn_transformer_pre_gelu_2",
      "{type: transformer, layers: 2, num_heads: 2, ffn_dim: 12, dropout: 0.0, activation: gelu, norm_first: true, "
      "final_norm: true, causal: true}",
      8);
}

BOOST_AUTO_TEST_CASE(two_post_norm_gelu_layers_with_input_projection_match_pytorch) {
  check_golden("attn_transformer_post_gelu_2_proj",
               "{type: transformer, dim: 8, layers: 2, num_heads: 2, ffn_dim: 12, dropout: 0.0, activation: gelu}", 6);
}

BOOST_AUTO_TEST_CASE(one_pre_norm_relu_causal_layer_matches_pytorch) {
  check_golden(
      "attn_transformer_pre_relu_1_causal",
      "{type: transformer, layers: 1, num_heads: 2, ffn_dim: 12, dropout: 0.0, norm_first: true, causal: true}", 8);
}

BOOST_AUTO_TEST_CASE(parameter_names_follow_pytorch) {
  core::Rng rng(2);
  auto ext = make("{type: transformer, dim: 8, layers: 2, final_norm: true}", 6, rng);
  BOOST_TEST(ext->out_dim() == 8);
  std::vector<std::string> names;
  for (const auto& [name, v] : ext->named_params()) names.push_back(name);
  const std::vector<std::string> want = {
      "input_proj.weight",
      "input_proj.bias",
      "layers.0.self_attn.in_proj_weight",
      "layers.0.self_attn.in_proj_bias",
      "layers.0.self_attn.out_proj.weight",
      "layers.0.self_attn.out_proj.bias",
      "layers.0.linear1.weight",
      "layers.0.linear1.bias",
      "layers.0.linear2.weight",
      "layers.0.linear2.bias",
      "layers.0.norm1.weight",
      "layers.0.norm1.bias",
      "layers.0.norm2.weight",
      "layers.0.norm2.bias",
  };
  BOOST_REQUIRE_EQUAL(names.size(), 2 + 2 * 12 + 2u);
  for (std::size_t i = 0; i < want.size(); ++i) BOOST_TEST(names[i] == want[i]);
  BOOST_TEST(names.back() == "norm.bias");
  BOOST_TEST(ext->param("layers.1.linear1.weight").shape() == (Shape{32, 8}));  // ffn_dim defaults to 4 * dim
}

BOOST_AUTO_TEST_CASE(padding_does_not_reach_real_steps) {
  core::Rng rng(3);
  for (const char* yaml :
       {"{type: transformer, dropout: 0.0}", "{type: transformer, dropout: 0.0, norm_first: true, final_norm: true}"}) {
    BOOST_TEST_CONTEXT(yaml) {
      auto ext = make(yaml, 8, rng);
      const Tensor x = randn(Shape{2, 5, 8}, rng);
      const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, Shape{2, 5});
      const Tensor a = ext->forward(Var(x), mask).value();
      BOOST_TEST(a.shape() == (Shape{2, 5, 8}));
      const Tensor b = ext->forward(Var(with_step_changed(x, 0, 4)), mask).value();
      BOOST_TEST(step_diff(a, b, 0, 0, 3) == 0.f);
      BOOST_TEST(step_diff(a, b, 1, 0, 5) == 0.f);
      // A real step does reach the others (bidirectional).
      const Tensor c = ext->forward(Var(with_step_changed(x, 0, 2)), mask).value();
      BOOST_TEST(step_diff(a, c, 0, 0, 2) > 0.f);
    }
  }
}

BOOST_AUTO_TEST_CASE(causal_hides_later_steps) {
  core::Rng rng(4);
  auto ext = make("{type: transformer, dropout: 0.0, causal: true, layers: 3}", 8, rng);
  const Tensor x = randn(Shape{1, 5, 8}, rng);
  const Tensor a = ext->forward(Var(x), {}).value();
  const Tensor b = ext->forward(Var(with_step_changed(x, 0, 2)), {}).value();
  BOOST_TEST(step_diff(a, b, 0, 0, 2) == 0.f);
  BOOST_TEST(step_diff(a, b, 0, 2, 5) > 0.f);
}

BOOST_AUTO_TEST_CASE(left_padding_under_causal_mask_stays_finite) {
  core::Rng rng(5);
  auto ext = make("{type: transformer, dropout: 0.0, causal: true, norm_first: true}", 8, rng);
  Var x(randn(Shape{2, 5, 8}, rng), true);
  const Tensor mask = Tensor::from(std::vector<float>{0, 0, 1, 1, 1, 0, 0, 0, 0, 0}, Shape{2, 5});
  Var y = ext->forward(x, mask);
  for (float v : y.value().to_vector()) BOOST_TEST(std::isfinite(v));
  ops::sum_all(y).backward();
  for (float v : x.grad().to_vector()) BOOST_TEST(std::isfinite(v));
}

BOOST_AUTO_TEST_CASE(default_config_gradients_in_eval_mode) {
  core::Rng rng(8);
  auto ext = make("{type: transformer}", 8, rng);
  ext->eval();  // the default dropout (0.1, PyTorch's) is off in eval mode
  const Tensor mask = Tensor::from(std::vector<float>{0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, Shape{2, 5});
  Var x(randn(Shape{2, 5, 8}, rng), true);
  std::vector<testing::Checked> checked{{"x", x}};
  for (const auto& [name, v] : ext->named_params()) checked.push_back({name, v});
  const auto res = testing::gradcheck([&] { return ext->forward(x, mask); }, checked, {.max_coords = 16});
  BOOST_TEST(res.ok(), res.worst);
}

BOOST_AUTO_TEST_CASE(dropout_only_in_training) {
  core::Rng rng(6);
  auto ext = make("{type: transformer, dropout: 0.3}", 8, rng);
  const Tensor x = randn(Shape{2, 5, 8}, rng);
  ext->eval();
  const Tensor a = ext->forward(Var(x), {}).value();
  BOOST_TEST(testing::max_rel_error(a, ext->forward(Var(x), {}).value()) == 0.0);
  ext->train();
  BOOST_TEST(testing::max_rel_error(a, ext->forward(Var(x), {}).value()) > 1e-3);
}

BOOST_AUTO_TEST_CASE(config_errors) {
  core::Rng rng(7);
  testing::expect_error<config::PathError>([&] { make("{type: transformer, num_heads: 3}", 8, rng); },
                                           {"num_heads: extractor/transformer", "num_heads 3", "dim 8"});
  testing::expect_error<config::PathError>([&] { make("{type: transformer, dim: 10}", 8, rng); },
                                           {"num_heads 4", "dim 10"});
  testing::expect_error<config::ConfigError>([&] { make("{type: transformer, activation: tanh}", 8, rng); },
                                             {"relu, gelu"});
  testing::expect_error<config::ConfigError>([&] { make("{type: transformer, layers: 0}", 8, rng); }, {"layers"});
  testing::expect_error<config::ConfigError>([&] { make("{type: transformer, norm_frist: true}", 8, rng); },
                                             {"did you mean 'norm_first'"});
}

BOOST_AUTO_TEST_SUITE_END()
