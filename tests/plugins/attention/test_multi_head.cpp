// attention/multi_head and nn::MultiHeadAttention: PyTorch parity (goldens from
// scripts/goldens/gen_attention.py) and behaviour (masks, causality, weights, config errors).
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/nn/attention.h"
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

std::unique_ptr<model::Attention> make(const std::string& yaml, std::int64_t dim, core::Rng& rng) {
  return registry::Registry<model::Attention>::get().create(config::parse(yaml, "test"),
                                                            {.dim = dim, .seq_len = 5, .rng = &rng});
}

Tensor randn(const Shape& s, core::Rng& rng) { return nn::init::normal(rng)(s); }

void expect_param_grads(const nn::Module& m, const Golden& g) {
  for (const auto& [name, v] : m.named_params())
    testing::expect_golden_close("grad " + name, v.grad(), g.tensor("g." + name));
}

void check_plugin_golden(const std::string& golden, bool causal) {
  const Golden g = Golden::load(golden);
  core::Rng rng(1);
  auto att = make(fmt::format("{{type: multi_head, num_heads: 2, causal: {}}}", causal), 8, rng);
  testing::load_golden(*att, g);
  Var x(g.tensor("x"), true);
  Var y = att->forward(x, g.tensor("mask"), {});
  testing::expect_golden_close("y", y.value(), g.tensor("y"));
  testing::expect_golden_close("weights", att->weights(), g.tensor("weights"));
  y.backward(g.tensor("r"));
  testing::expect_golden_close("grad x", x.grad(), g.tensor("gx"));
  expect_param_grads(*att, g);
}

// [B, T] mask from lengths (right padding).
Tensor lengths_mask(const std::vector<std::int64_t>& lengths, std::int64_t T) {
  return ops::sequence_mask(Tensor::from_i64(lengths, Shape{static_cast<std::int64_t>(lengths.size())}), T);
}

// A copy of x with step t of batch row b replaced by noise.
Tensor perturb_step(const Tensor& x, std::int64_t b, std::int64_t t, core::Rng& rng) {
  Tensor y = x.clone();
  const std::int64_t T = x.shape()[1], H = x.shape()[2];
  for (std::int64_t h = 0; h < H; ++h) y.f32()[(b * T + t) * H + h] += 3.f * static_cast<float>(rng.normal());
  return y;
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

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_multi_head)

BOOST_AUTO_TEST_CASE(matches_pytorch_with_key_padding) { check_plugin_golden("attn_multi_head", false); }

BOOST_AUTO_TEST_CASE(matches_pytorch_with_key_padding_and_causal_mask) {
  check_plugin_golden("attn_multi_head_causal", true);
}

BOOST_AUTO_TEST_CASE(cross_attention_matches_pytorch) {
  const Golden g = Golden::load("attn_multi_head_cross");
  core::Rng rng(1);
  nn::MultiHeadAttention mha(12, 3, 0.f, rng);
  testing::load_golden(mha, g);
  Var x(g.tensor("x"), true), key(g.tensor("key"), true), value(g.tensor("value"), true);
  Var y = mha.forward(x, key, value, g.tensor("mask"));
  testing::expect_golden_close("y", y.value(), g.tensor("y"));
  testing::expect_golden_close("weights", mha.weights(), g.tensor("weights"));
  y.backward(g.tensor("r"));
  testing::expect_golden_close("grad x", x.grad(), g.tensor("gx"));
  testing::expect_golden_close("grad key", key.grad(), g.tensor("gkey"));
  testing::expect_golden_close("grad value", value.grad(), g.tensor("gvalue"));
  expect_param_grads(mha, g);
}

BOOST_AUTO_TEST_CASE(parameters_have_pytorch_names_and_shapes) {
  core::Rng rng(2);
  nn::MultiHeadAttention mha(8, 2, 0.f, rng);
  const auto params = mha.named_params();
  BOOST_REQUIRE_EQUAL(params.size(), 4u);
  BOOST_TEST(params[0].first == "in_proj_weight");
  BOOST_TEST(params[0].second.shape() == (Shape{24, 8}));
  BOOST_TEST(params[1].first == "in_proj_bias");
  BOOST_TEST(params[2].first == "out_proj.weight");
  BOOST_TEST(params[3].first == "out_proj.bias");
  for (float b : params[3].second.value().to_vector()) BOOST_TEST(b == 0.f);
  BOOST_TEST(mha.head_dim() == 4);
}

BOOST_AUTO_TEST_CASE(shapes_weights_and_padding) {
  core::Rng rng(3);
  auto att = make("{type: multi_head, num_heads: 4}", 8, rng);
  BOOST_TEST(att->out_dim() == 8);
  BOOST_TEST(!att->pools());
  const Tensor x = randn(Shape{3, 5, 8}, rng);
  const Tensor mask = lengths_mask({5, 3, 1}, 5);
  Var y = att->forward(Var(x), mask, {});
  BOOST_TEST(y.shape() == (Shape{3, 5, 8}));
  const Tensor w = att->weights();
  BOOST_REQUIRE(w.shape() == (Shape{3, 4, 5, 5}));
  const std::int64_t len[] = {5, 3, 1};
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t r = 0; r < 4 * 5; ++r) {
      const float* row = w.f32() + (b * 20 + r) * 5;
      double sum = 0;
      for (std::int64_t j = 0; j < 5; ++j) {
        if (j >= len[b]) BOOST_TEST(row[j] == 0.f);
        sum += row[j];
      }
      BOOST_TEST(std::abs(sum - 1.0) < 1e-5);
    }

  // A padded step's input changes no real step's output.
  Var y2 = att->forward(Var(perturb_step(x, 1, 4, rng)), mask, {});
  BOOST_TEST(step_diff(y.value(), y2.value(), 1, 0, 3) == 0.f);
  BOOST_TEST(step_diff(y.value(), y2.value(), 0, 0, 5) == 0.f);
}

BOOST_AUTO_TEST_CASE(causal_hides_later_steps) {
  core::Rng rng(4);
  auto att = make("{type: multi_head, num_heads: 2, causal: true}", 8, rng);
  const Tensor x = randn(Shape{2, 5, 8}, rng);
  Var y = att->forward(Var(x), {}, {});
  Var y2 = att->forward(Var(perturb_step(x, 0, 3, rng)), {}, {});
  BOOST_TEST(step_diff(y.value(), y2.value(), 0, 0, 3) == 0.f);
  BOOST_TEST(step_diff(y.value(), y2.value(), 0, 3, 5) > 0.f);
  const Tensor w = att->weights();  // [2, 2, 5, 5]
  for (std::int64_t r = 0; r < 2 * 2; ++r)
    for (std::int64_t i = 0; i < 5; ++i)
      for (std::int64_t j = i + 1; j < 5; ++j) BOOST_TEST(w.f32()[(r * 5 + i) * 5 + j] == 0.f);
}

BOOST_AUTO_TEST_CASE(rows_without_visible_keys_are_zero_not_nan) {
  core::Rng rng(5);
  auto att = make("{type: multi_head, num_heads: 2, causal: true}", 8, rng);
  // Left padding under a causal mask: queries 0 and 1 of row 0 see no real key; row 1 is all padding.
  const Tensor mask = Tensor::from(std::vector<float>{0, 0, 1, 1, 1, 0, 0, 0, 0, 0}, Shape{2, 5});
  Var x(randn(Shape{2, 5, 8}, rng), true);
  Var y = att->forward(x, mask, {});
  for (float v : y.value().to_vector()) BOOST_TEST(std::isfinite(v));
  const Tensor w = att->weights();
  for (std::int64_t h = 0; h < 2; ++h)
    for (std::int64_t i = 0; i < 5; ++i) {
      double sum0 = 0, sum1 = 0;
      for (std::int64_t j = 0; j < 5; ++j) {
        sum0 += w.f32()[((0 * 2 + h) * 5 + i) * 5 + j];
        sum1 += w.f32()[((1 * 2 + h) * 5 + i) * 5 + j];
      }
      BOOST_TEST(std::abs(sum0 - (i < 2 ? 0.0 : 1.0)) < 1e-5);
      BOOST_TEST(sum1 == 0.0);
    }
  ops::sum_all(y).backward();
  for (float v : x.grad().to_vector()) BOOST_TEST(std::isfinite(v));
}

BOOST_AUTO_TEST_CASE(gradients_with_padding_causal_mask_and_empty_rows) {
  core::Rng rng(8);
  auto att = make("{type: multi_head, num_heads: 2, causal: true}", 8, rng);
  const Tensor mask = Tensor::from(std::vector<float>{0, 0, 1, 1, 1, 1, 1, 1, 0, 0}, Shape{2, 5});
  Var x(randn(Shape{2, 5, 8}, rng), true);
  std::vector<testing::Checked> checked{{"x", x}};
  for (const auto& [name, v] : att->named_params()) checked.push_back({name, v});
  const auto res = testing::gradcheck([&] { return att->forward(x, mask, {}); }, checked);
  BOOST_TEST(res.ok(), res.worst);
}

BOOST_AUTO_TEST_CASE(dropout_only_in_training) {
  core::Rng rng(6);
  auto att = make("{type: multi_head, num_heads: 2, dropout: 0.5}", 8, rng);
  const Tensor x = randn(Shape{2, 5, 8}, rng);
  att->eval();
  const Tensor a = att->forward(Var(x), {}, {}).value();
  const Tensor b = att->forward(Var(x), {}, {}).value();
  BOOST_TEST(testing::max_rel_error(a, b) == 0.0);
  att->train();
  const Tensor c = att->forward(Var(x), {}, {}).value();
  BOOST_TEST(testing::max_rel_error(a, c) > 1e-3);
}

BOOST_AUTO_TEST_CASE(config_and_shape_errors) {
  core::Rng rng(7);
  // A rule across the config and the input width: a PathError naming the field, so a run reports
  // it at the spec's line.
  testing::expect_error<config::PathError>([&] { make("{type: multi_head, num_heads: 3}", 8, rng); },
                                           {"num_heads: attention/multi_head", "num_heads 3", "width 8"});
  testing::expect_error<config::ConfigError>([&] { make("{type: multi_head, num_heads: 0}", 8, rng); }, {"num_heads"});
  testing::expect_error<config::ConfigError>([&] { make("{type: multi_head, dropout: 1.0}", 8, rng); }, {"dropout"});
  testing::expect_error<ShapeError>([&] { nn::MultiHeadAttention(10, 4, 0.f, rng); }, {"num_heads 4", "embed_dim 10"});
  testing::expect_error<Error>([&] { nn::MultiHeadAttention(8, 2, 1.f, rng); }, {"dropout"});

  nn::MultiHeadAttention mha(8, 2, 0.f, rng);
  const Var x(randn(Shape{2, 5, 8}, rng));
  testing::expect_error<ShapeError>(
      [&] {
        mha.forward(x, Var(randn(Shape{2, 4, 8}, rng)), x);
      },
      {"multi_head_attention", "[2, 5, 8]", "[2, 4, 8]"});
  testing::expect_error<ShapeError>([&] { mha.forward(Var(randn(Shape{2, 5, 6}, rng)), x, x); }, {"[2, 5, 6]"});
  testing::expect_error<ShapeError>(
      [&] {
        mha.forward(x, x, x, Tensor::full(Shape{2, 4}, 1.f));
      },
      {"masked_softmax", "[2, 4]", "[2, 5]"});
  testing::expect_error<DTypeError>(
      [&] {
        mha.forward(x, x, x, Tensor::zeros(Shape{2, 5}, core::DType::i64));
      },
      {"key_mask"});
}

BOOST_AUTO_TEST_SUITE_END()
