// PyTorch parity: conv1d, layer_norm, softmax cross-entropy and a multi-head-attention chain,
// against goldens written by scripts/goldens/gen_ops.py (Debian's python3-torch). Each test
// rebuilds the computation from attnlab ops, backpropagates L = sum(r * y) with the golden's r, and
// matches the output and every gradient within 1e-4 relative (errors relative to max(|want|, 1e-3)).
#include <boost/test/unit_test.hpp>

#include "framework/ops/ops.h"
#include "tests/support/golden.h"

#include <cmath>
#include <limits>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
using testing::Golden;
using testing::max_rel_error;

namespace {

constexpr double kTol = 1e-4;

Var param(const Golden& g, const std::string& key) { return Var(g.tensor(key), true); }

void expect_close(const std::string& what, const Tensor& got, const Tensor& want) {
  const double e = max_rel_error(got, want);
  BOOST_TEST(e <= kTol, what << ": max relative error " << e << " (shapes " << got.shape().str() << " vs "
                             << want.shape().str() << ")");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_parity)

BOOST_AUTO_TEST_CASE(conv1d_matches_pytorch) {
  const Golden g = Golden::load("conv1d");
  Var x = param(g, "x"), w = param(g, "w"), b = param(g, "b");
  Var y = ops::conv1d(x, w, b, {.stride = 2, .pad_left = 2, .pad_right = 2, .dilation = 2});
  expect_close("y", y.value(), g.tensor("y"));
  y.backward(g.tensor("r"));
  expect_close("grad x", x.grad(), g.tensor("gx"));
  expect_close("grad w", w.grad(), g.tensor("gw"));
  expect_close("grad b", b.grad(), g.tensor("gb"));
}

BOOST_AUTO_TEST_CASE(layer_norm_matches_pytorch) {
  const Golden g = Golden::load("layer_norm");
  Var x = param(g, "x"), gamma = param(g, "gamma"), beta = param(g, "beta");
  Var y = ops::layer_norm(x, gamma, beta, 1e-5f);
  expect_close("y", y.value(), g.tensor("y"));
  y.backward(g.tensor("r"));
  expect_close("grad x", x.grad(), g.tensor("gx"));
  expect_close("grad gamma", gamma.grad(), g.tensor("ggamma"));
  expect_close("grad beta", beta.grad(), g.tensor("gbeta"));
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_matches_pytorch) {
  const Golden g = Golden::load("softmax_cross_entropy");
  Var logits = param(g, "logits");
  Var loss = ops::softmax_cross_entropy(logits, g.index("target"), -100, 0.1f);
  expect_close("loss", loss.value().reshape(Shape{1}), g.tensor("loss"));
  loss.backward();
  expect_close("grad logits", logits.grad(), g.tensor("glogits"));
}

BOOST_AUTO_TEST_CASE(multi_head_attention_chain_matches_pytorch) {
  const Golden g = Golden::load("mha_chain");
  Var x = param(g, "x");
  Var in_w = param(g, "in_proj_weight"), in_b = param(g, "in_proj_bias");
  Var out_w = param(g, "out_proj_weight"), out_b = param(g, "out_proj_bias");
  Var ln_w = param(g, "ln_weight"), ln_b = param(g, "ln_bias");
  Var lin_w = param(g, "lin_weight"), lin_b = param(g, "lin_bias");
  const std::int64_t B = x.shape()[0], T = x.shape()[1], E = x.shape()[2], H = 2, Dh = E / H;

  // Key padding mask [B, 1, 1, T]: 1 where the key is padding.
  const auto lengths = g.index("lengths").to_vector_i64();
  Tensor pad = Tensor::zeros(Shape{B, 1, 1, T});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = lengths[static_cast<std::size_t>(b)]; t < T; ++t) pad.f32()[b * T + t] = 1.f;

  Var qkv = ops::linear(x, in_w, in_b);  // [B, T, 3E]
  auto heads = [&](std::int64_t i) {     // [B, H, T, Dh]
    return ops::permute(ops::reshape(ops::slice(qkv, -1, i * E, (i + 1) * E), Shape{B, T, H, Dh}), {0, 2, 1, 3});
  };
  Var q = heads(0), k = heads(1), v = heads(2);
  Var scores = ops::matmul(q, k, false, true) * static_cast<float>(1.0 / std::sqrt(static_cast<double>(Dh)));
  Var weights = ops::softmax(ops::masked_fill(scores, pad, -std::numeric_limits<float>::infinity()), -1);
  Var ctx = ops::reshape(ops::permute(ops::matmul(weights, v), {0, 2, 1, 3}), Shape{B, T, E});
  Var attn = ops::linear(ctx, out_w, out_b);
  Var y = ops::mean(ops::gelu(ops::linear(ops::layer_norm(x + attn, ln_w, ln_b), lin_w, lin_b)), 1);

  expect_close("y", y.value(), g.tensor("y"));
  y.backward(g.tensor("r"));
  expect_close("grad x", x.grad(), g.tensor("gx"));
  expect_close("grad in_proj_weight", in_w.grad(), g.tensor("g_in_proj_weight"));
  expect_close("grad in_proj_bias", in_b.grad(), g.tensor("g_in_proj_bias"));
  expect_close("grad out_proj_weight", out_w.grad(), g.tensor("g_out_proj_weight"));
  expect_close("grad out_proj_bias", out_b.grad(), g.tensor("g_out_proj_bias"));
  expect_close("grad ln_weight", ln_w.grad(), g.tensor("g_ln_weight"));
  expect_close("grad lin_weight", lin_w.grad(), g.tensor("g_lin_weight"));
  expect_close("grad lin_bias", lin_b.grad(), g.tensor("g_lin_bias"));
}

BOOST_AUTO_TEST_SUITE_END()
