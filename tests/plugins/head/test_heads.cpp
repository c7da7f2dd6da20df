// Heads: predictions, losses against hand-computed values, missing labels masked out, and the
// sampled softmax of next_item.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"

#include <cmath>
#include <limits>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

std::unique_ptr<model::Head> make_head(const std::string& yaml, model::Head::Context ctx) {
  return registry::Registry<model::Head>::get().create(config::parse(yaml, "head.yaml"), ctx);
}

model::Head::Context context(std::int64_t in, std::int64_t outputs, core::Rng& rng, Var table = {}) {
  model::Head::Context c;
  c.in_dim = in;
  c.num_outputs = outputs;
  c.rng = &rng;
  c.item_table = std::move(table);
  return c;
}

Var input(std::int64_t b, std::int64_t d, float scale = 0.5f) {
  std::vector<float> v(static_cast<std::size_t>(b * d));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(static_cast<float>(i) + 0.3f);
  return Var(Tensor::from(v, Shape{b, d}), true);
}

double bce(double x, double t) { return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x))); }

}  // namespace

BOOST_AUTO_TEST_SUITE(head_family)

BOOST_AUTO_TEST_CASE(binary_head_masks_missing_labels) {
  core::Rng rng(1);
  auto head = make_head("type: binary", context(4, 1, rng));
  Var h = input(3, 4);
  Var logits = head->forward(h);
  BOOST_TEST(logits.shape() == (Shape{3}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor labels = Tensor::from(std::vector<float>{1.f, nan, 0.f}, Shape{3});
  const auto z = logits.value().to_vector();
  const double want = (bce(z[0], 1.0) + bce(z[2], 0.0)) / 2.0;
  Var loss = head->loss(logits, labels);
  BOOST_TEST(loss.value().item() == want, boost::test_tools::tolerance(1e-5));
  loss.backward();
  BOOST_TEST(std::isfinite(h.grad().to_vector()[4]));
}

BOOST_AUTO_TEST_CASE(regression_losses_match_hand_values) {
  core::Rng rng(2);
  const std::vector<std::pair<std::string, double (*)(double)>> kinds{
      {"mse", [](double d) { return d * d; }},
      {"mae", [](double d) { return std::abs(d); }},
      {"huber", [](double d) { return std::abs(d) <= 0.5 ? 0.5 * d * d : 0.5 * (std::abs(d) - 0.25); }},
  };
  for (const auto& [loss_name, f] : kinds) {
    BOOST_TEST_CONTEXT(loss_name) {
      auto head = make_head(fmt::format("{{type: regression, loss: {}, delta: 0.5}}", loss_name), context(4, 1, rng));
      Var pred = head->forward(input(4, 4));
      const auto p = pred.value().to_vector();
      const std::vector<float> t{2.f, -1.f, std::numeric_limits<float>::quiet_NaN(), 0.1f};
      double want = 0;
      for (int i : {0, 1, 3}) want += f(p[static_cast<std::size_t>(i)] - t[static_cast<std::size_t>(i)]);
      BOOST_TEST(head->loss(pred, Tensor::from(t, Shape{4})).value().item() == want / 3, boost::test_tools::tolerance(1e-5));
    }
  }
}

BOOST_AUTO_TEST_CASE(classification_ignores_negative_labels) {
  core::Rng rng(3);
  auto head = make_head("type: classification", context(4, 3, rng));
  Var logits = head->forward(input(2, 4));
  const auto z = logits.value().to_vector();
  const double lse = std::log(std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2]));
  Var loss = head->loss(logits, Tensor::from_i64(std::vector<std::int64_t>{2, -1}, Shape{2}));
  BOOST_TEST(loss.value().item() == lse - z[2], boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(next_item_tied_scores_are_the_projection_times_the_table) {
  core::Rng rng(4);
  Var table = input(6, 4, 0.3f);  // 6 items, width 4 = in_dim: no projection
  auto head = make_head("{type: next_item, tied: true}", context(4, 6, rng, table));
  BOOST_TEST(head->named_params().empty());
  Var h = input(2, 4);
  const auto s = head->forward(h).value().to_vector();
  const auto hv = h.value().to_vector(), tv = table.value().to_vector();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 6; ++i) {
      double dot = 0;
      for (int k = 0; k < 4; ++k) dot += hv[static_cast<std::size_t>(b * 4 + k)] * tv[static_cast<std::size_t>(i * 4 + k)];
      BOOST_TEST(s[static_cast<std::size_t>(b * 6 + i)] == dot, boost::test_tools::tolerance(1e-5));
    }
}

BOOST_AUTO_TEST_CASE(next_item_sampled_softmax_touches_only_sampled_rows) {
  core::Rng rng(5);
  Var table = input(50, 4, 0.3f);
  auto head = make_head("{type: next_item, tied: true, negatives: 3}", context(4, 50, rng, table));
  Var h = input(2, 4);
  Var loss = head->train_loss(h, Tensor::from_i64(std::vector<std::int64_t>{7, 11}, Shape{2}));
  BOOST_TEST(std::isfinite(loss.value().item()));
  loss.backward();
  const auto g = table.grad().to_vector();
  int touched = 0;
  for (int i = 0; i < 50; ++i) {
    bool nz = false;
    for (int k = 0; k < 4; ++k) nz = nz || g[static_cast<std::size_t>(i * 4 + k)] != 0.f;
    touched += nz;
  }
  BOOST_TEST(touched >= 2);   // the two targets at least
  BOOST_TEST(touched <= 8);   // 2 targets + 2 x 3 negatives at most
  BOOST_TEST(g[7 * 4] != 0.f);
  BOOST_TEST(g[11 * 4] != 0.f);
}

BOOST_AUTO_TEST_CASE(next_item_sampled_loss_without_correction_equals_full_softmax_over_the_candidates) {
  // With every other item as a "negative" the sample cannot equal the full set, but with 2 items and
  // 1 negative the only possible negative is the other item (or an accidental hit, masked).
  core::Rng rng(6);
  Var table = input(2, 4, 0.3f);
  auto head = make_head("{type: next_item, negatives: 1, logq_correction: false}", context(4, 2, rng, table));
  Var h = input(1, 4);
  const Tensor label = Tensor::from_i64(std::vector<std::int64_t>{0}, Shape{1});
  const float full = head->loss(head->forward(h), label).value().item();
  bool matched = false, hit = false;
  for (int trial = 0; trial < 20; ++trial) {
    const float sampled = head->train_loss(h, label).value().item();
    if (std::abs(sampled - full) < 1e-5f) matched = true;
    if (std::abs(sampled) < 1e-6f) hit = true;  // the negative was the target itself: masked, loss 0
  }
  BOOST_TEST(matched);
  BOOST_TEST(hit);
}

BOOST_AUTO_TEST_CASE(next_item_errors_are_clear) {
  core::Rng rng(7);
  testing::expect_error<Error>([&] { make_head("{type: next_item, tied: true}", context(4, 6, rng)); },
                               {"tied", "item embedding table"});
  Var table = input(6, 4);
  auto head = make_head("{type: next_item, negatives: 2}", context(4, 6, rng, table));
  testing::expect_error<IndexError>([&] { head->train_loss(input(1, 4), Tensor::from_i64(std::vector<std::int64_t>{9}, Shape{1})); },
                                    {"label 9", "[0, 6)"});
  testing::expect_error<Error>([&] { make_head("{type: next_item, negatives: 2, sampler: popularity}", context(4, 6, rng, table)); },
                               {"popularity", "item counts"});
}

BOOST_AUTO_TEST_SUITE_END()
