// attention/scaled_dot: against a naive-loop reference, and behaviour (masks, causality, weights,
// config errors).
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"
#include "tests/support/gradcheck.h"

#include <cmath>
#include <limits>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

std::unique_ptr<model::Attention> make(const std::string& yaml, std::int64_t dim, core::Rng& rng) {
  return registry::Registry<model::Attention>::get().create(config::parse(yaml, "test"),
                                                            {.dim = dim, .seq_len = 5, .rng = &rng});
}

Tensor randn(const Shape& s, core::Rng& rng) { return nn::init::normal(rng)(s); }

// softmax(q kᵀ / sqrt(d)) v in double loops, q = x Wqᵀ + bq etc.; padding keys (mask 0) and,
// when causal, keys j > i excluded.
std::vector<double> reference(const Tensor& x, const Tensor& mask, bool causal, nn::Module& m, bool bias) {
  const std::int64_t B = x.shape()[0], T = x.shape()[1], E = x.shape()[2];
  auto get = [&](const std::string& n) { return m.param(n).value().to_vector(); };
  const auto wq = get("query.weight"), wk = get("key.weight"), wv = get("value.weight");
  const std::int64_t d = static_cast<std::int64_t>(wq.size()) / E;
  std::vector<float> bq(d, 0.f), bk(d, 0.f), bv(d, 0.f);
  if (bias) {
    bq = get("query.bias");
    bk = get("key.bias");
    bv = get("value.bias");
  }
  auto proj = [&](const std::vector<float>& w, const std::vector<float>& b, std::int64_t bt, std::int64_t o) {
    double s = b[o];
    for (std::int64_t e = 0; e < E; ++e) s += double(w[o * E + e]) * x.f32()[bt * E + e];
    return s;
  };
  std::vector<double> out(B * T * d, 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t i = 0; i < T; ++i) {
      std::vector<double> s(T, -std::numeric_limits<double>::infinity());
      double mx = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < T; ++j) {
        if (mask.f32()[b * T + j] == 0.f || (causal && j > i)) continue;
        double dot = 0;
        for (std::int64_t o = 0; o < d; ++o) dot += proj(wq, bq, b * T + i, o) * proj(wk, bk, b * T + j, o);
        s[j] = dot / std::sqrt(double(d));
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& v : s) z += v = std::exp(v - mx);
      for (std::int64_t j = 0; j < T; ++j)
        for (std::int64_t o = 0; o < d; ++o) out[(b * T + i) * d + o] += s[j] / z * proj(wv, bv, b * T + j, o);
    }
  return out;
}

void check_reference(const std::string& yaml, bool causal, bool bias, std::int64_t d) {
  core::Rng rng(11);
  auto att = make(yaml, 8, rng);
  BOOST_TEST(att->out_dim() == d);
  const Tensor x = randn(Shape{3, 5, 8}, rng);
  const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0}, Shape{3, 5});
  Var y = att->forward(Var(x), mask, {});
  BOOST_REQUIRE(y.shape() == (Shape{3, 5, d}));
  const auto want = reference(x, mask, causal, *att, bias);
  const auto got = y.value().to_vector();
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(std::abs(got[i] - want[i]) <= 1e-4 * std::max(1.0, std::abs(want[i])));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_scaled_dot)

BOOST_AUTO_TEST_CASE(matches_reference) { check_reference("{type: scaled_dot}", false, false, 8); }

BOOST_AUTO_TEST_CASE(matches_reference_causal_with_bias_and_dim_out) {
  check_reference("{type: scaled_dot, causal: true, bias: true, dim_out: 6}", true, true, 6);
}

BOOST_AUTO_TEST_CASE(weights_sum_to_one_over_real_keys) {
  core::Rng rng(12);
  auto att = make("{type: scaled_dot}", 8, rng);
  const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, Shape{2, 5});
  Var x(randn(Shape{2, 5, 8}, rng), true);
  Var y = att->forward(x, mask, {});
  const Tensor w = att->weights();
  BOOST_REQUIRE(w.shape() == (Shape{2, 5, 5}));
  for (std::int64_t i = 0; i < 5; ++i) {
    double sum0 = 0, sum1 = 0;
    for (std::int64_t j = 0; j < 5; ++j) {
      if (j >= 3) BOOST_TEST(w.f32()[i * 5 + j] == 0.f);
      sum0 += w.f32()[i * 5 + j];
      sum1 += w.f32()[25 + i * 5 + j];
    }
    BOOST_TEST(std::abs(sum0 - 1.0) < 1e-5);
    BOOST_TEST(sum1 == 0.0);  // an all-padding row: zero weights, not NaN
  }
  ops::sum_all(y).backward();
  for (float v : x.grad().to_vector()) BOOST_TEST(std::isfinite(v));
  for (float v : y.value().to_vector()) BOOST_TEST(std::isfinite(v));
}

BOOST_AUTO_TEST_CASE(padded_and_later_steps_do_not_leak) {
  core::Rng rng(13);
  const Tensor x = randn(Shape{1, 5, 8}, rng);
  Tensor x2 = x.clone();
  for (std::int64_t h = 0; h < 8; ++h) x2.f32()[4 * 8 + h] += 2.f;  // step 4 changes
  {
    auto att = make("{type: scaled_dot}", 8, rng);
    const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 1, 0}, Shape{1, 5});
    const auto a = att->forward(Var(x), mask, {}).value().to_vector();
    const auto b = att->forward(Var(x2), mask, {}).value().to_vector();
    for (std::size_t i = 0; i < 4 * 8; ++i) BOOST_TEST(a[i] == b[i]);
  }
  {
    auto att = make("{type: scaled_dot, causal: true}", 8, rng);
    const auto a = att->forward(Var(x), {}, {}).value().to_vector();
    const auto b = att->forward(Var(x2), {}, {}).value().to_vector();
    for (std::size_t i = 0; i < 4 * 8; ++i) BOOST_TEST(a[i] == b[i]);
    BOOST_TEST(a[4 * 8] != b[4 * 8]);
  }
}

BOOST_AUTO_TEST_CASE(gradients_with_padding_and_an_all_padding_row) {
  core::Rng rng(15);
  auto att = make("{type: scaled_dot, bias: true, dim_out: 6}", 8, rng);
  const Tensor mask = Tensor::from(std::vector<float>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, Shape{2, 5});
  Var x(randn(Shape{2, 5, 8}, rng), true);
  std::vector<testing::Checked> checked{{"x", x}};
  for (const auto& [name, v] : att->named_params()) checked.push_back({name, v});
  const auto res = testing::gradcheck([&] { return att->forward(x, mask, {}); }, checked);
  BOOST_TEST(res.ok(), res.worst);
}

BOOST_AUTO_TEST_CASE(config_errors) {
  core::Rng rng(14);
  testing::expect_error<config::ConfigError>([&] { make("{type: scaled_dot, dim_out: 0}", 8, rng); }, {"dim_out"});
  testing::expect_error<config::ConfigError>([&] { make("{type: scaled_dot, dropout: 1.5}", 8, rng); }, {"dropout"});
  testing::expect_error<config::ConfigError>([&] { make("{type: scaled_dot, casual: true}", 8, rng); },
                                             {"did you mean 'causal'"});
  auto att = make("{type: scaled_dot}", 8, rng);
  testing::expect_error<ShapeError>(
      [&] {
        att->forward(Var(randn(Shape{2, 5, 8}, rng)), Tensor::full(Shape{2, 3}, 1.f), {});
      },
      {"masked_softmax", "[2, 3]"});
}

BOOST_AUTO_TEST_SUITE_END()
