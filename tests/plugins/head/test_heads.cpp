// Heads: predictions, losses against hand-computed values, missing labels masked out, and the
// sampled softmax of next_item.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"
#include "tests/support/gradcheck.h"

#include <cmath>
#include <limits>
#include <set>

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
      BOOST_TEST(head->loss(pred, Tensor::from(t, Shape{4})).value().item() == want / 3,
                 boost::test_tools::tolerance(1e-5));
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
      for (int k = 0; k < 4; ++k)
        dot += hv[static_cast<std::size_t>(b * 4 + k)] * tv[static_cast<std::size_t>(i * 4 + k)];
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
  BOOST_TEST(touched >= 2);  // the two targets at least
  BOOST_TEST(touched <= 8);  // 2 targets + 2 x 3 negatives at most
  BOOST_TEST(g[7 * 4] != 0.f);
  BOOST_TEST(g[11 * 4] != 0.f);
}

BOOST_AUTO_TEST_CASE(next_item_sampled_loss_without_correction_is_the_softmax_over_the_candidates) {
  // Ids 0 (padding), 1 and 2: with the target 1 and one negative, the negative is always item 2:
  // never padding, and never the target (a draw of the target is redrawn).
  core::Rng rng(6);
  Var table = input(3, 4, 0.3f);
  auto head = make_head("{type: next_item, negatives: 1, logq_correction: false}", context(4, 3, rng, table));
  Var h = input(1, 4);
  const Tensor label = Tensor::from_i64(std::vector<std::int64_t>{1}, Shape{1});
  const auto s = head->forward(h).value().to_vector();
  const double over_candidates = std::log(std::exp(s[1]) + std::exp(s[2])) - s[1];  // item 0 is no candidate
  for (int trial = 0; trial < 20; ++trial)
    BOOST_TEST(head->train_loss(h, label).value().item() == over_candidates, boost::test_tools::tolerance(1e-5));
}

/// The candidates a sampled loss scored, read back from the rows of the item table that got a gradient.
std::set<std::int64_t> touched_items(const Var& table) {
  std::set<std::int64_t> out;
  const auto g = table.grad().to_vector();
  const std::int64_t d = table.shape()[1];
  for (std::int64_t i = 0; i < table.shape()[0]; ++i)
    for (std::int64_t k = 0; k < d; ++k)
      if (g[static_cast<std::size_t>(i * d + k)] != 0.f) {
        out.insert(i);
        break;
      }
  return out;
}

BOOST_AUTO_TEST_CASE(next_item_negatives_are_never_padding_nor_seen_items) {
  // 8 ids (7 items): row 0 has seen items {1, 2, 3, 5}, row 1 has seen {4, 6, 7}; targets 3 and 4.
  // Over many steps, every negative of row 0 must be in {4, 6, 7} and of row 1 in {1, 2, 3, 5}: the
  // table rows that receive gradient are exactly the targets and those.
  for (const std::string sampler : {"uniform", "popularity"})
    for (const std::string loss : {"softmax", "bce"}) {
      BOOST_TEST_CONTEXT(sampler << " " << loss) {
        core::Rng rng(11);
        model::Head::Context ctx = context(4, 8, rng);
        ctx.item_counts = Tensor::from(std::vector<float>{0, 5, 1, 1, 9, 2, 3, 1}, Shape{8});
        std::set<std::int64_t> row0, row1;
        for (int step = 0; step < 50; ++step) {
          Var table = input(8, 4, 0.3f);
          ctx.item_table = table;
          auto head =
              make_head(fmt::format("{{type: next_item, loss: {}, negatives: 3, sampler: {}, exclude_seen: true}}",
                                    loss, sampler),
                        ctx);
          BOOST_TEST(head->wants_seen());
          const std::vector<std::int64_t> items{1, 2, 3, 5, 4, 6, 7};
          model::SeenItems seen{.items = items, .begin = {0, 4}, .end = {4, 7}};
          // One row at a time, so each row's candidates can be read from the table's gradient.
          for (int row = 0; row < 2; ++row) {
            table.zero_grad();
            const std::int64_t target = row == 0 ? 3 : 4;
            model::SeenItems one{.items = items,
                                 .begin = {seen.begin[static_cast<std::size_t>(row)]},
                                 .end = {seen.end[static_cast<std::size_t>(row)]}};
            head->train_loss(input(1, 4), Tensor::from_i64(std::vector<std::int64_t>{target}, Shape{1}), one)
                .backward();
            for (const auto i : touched_items(table)) (row == 0 ? row0 : row1).insert(i);
          }
        }
        BOOST_TEST((row0 == std::set<std::int64_t>{3, 4, 6, 7}));     // target 3 and its allowed negatives
        BOOST_TEST((row1 == std::set<std::int64_t>{1, 2, 3, 4, 5}));  // target 4 and its allowed negatives
      }
    }
}

BOOST_AUTO_TEST_CASE(next_item_bce_is_sasrecs_loss) {
  // loss = mean over labelled rows of -log σ(s_target) - Σ_neg log(1 - σ(s_neg)), with the scores
  // read back from the full scoring (tied: h · E_i). Ids 0..3; row 0 (target 3) has seen {2, 3}, so
  // both its negatives are item 1. Row 1 is missing (label -1): it counts nowhere.
  core::Rng rng(12);
  Var table = input(4, 4, 0.3f);
  auto head = make_head("{type: next_item, loss: bce, negatives: 2, exclude_seen: true}", context(4, 4, rng, table));
  Var h = input(2, 4);
  const std::vector<std::int64_t> items{2, 3, 1};
  const model::SeenItems seen{
      .items = items, .begin = {0, 0}, .end = {2, 3}};  // row 0 saw {2, 3}: its negatives are 1, 1
  const auto s = head->forward(h).value().to_vector();  // [2, 4]
  const auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  const double want = -std::log(sig(s[3])) - 2 * std::log(1 - sig(s[1]));  // target 3 (seen), negatives 1 and 1
  const Var loss = head->train_loss(h, Tensor::from_i64(std::vector<std::int64_t>{3, -1}, Shape{2}), seen);
  BOOST_TEST(loss.value().item() == want, boost::test_tools::tolerance(1e-5));
  loss.backward();
  const auto gh = h.grad().to_vector();
  for (std::size_t k = 4; k < 8; ++k) BOOST_TEST(gh[k] == 0.f);  // the missing row gets no gradient
}

BOOST_AUTO_TEST_CASE(next_item_training_losses_pass_the_gradient_check) {
  // Sampled losses draw negatives from the head's Rng: the forward restores the Rng's state first,
  // so every evaluation of the finite differences scores the same candidates.
  for (const std::string config :
       {"{type: next_item, tied: false, negatives: 3}", "{type: next_item, tied: false, loss: bce, negatives: 3}",
        "{type: next_item, tied: true, loss: bce, negatives: 2, exclude_seen: true, transform: true, bias: true}",
        "{type: next_item, tied: true, transform: true, bias: true}"}) {
    BOOST_TEST_CONTEXT(config) {
      core::Rng rng(21);
      Var table(input(9, 4, 0.4f).value().clone(), true);
      auto head = make_head(config, context(6, 9, rng, table));
      Var h = input(3, 6, 0.7f);
      const std::vector<std::int64_t> items{1, 2, 5, 7, 3};
      const model::SeenItems seen{.items = items, .begin = {0, 2, 4}, .end = {2, 4, 5}};
      const Tensor labels = Tensor::from_i64(std::vector<std::int64_t>{4, 8, 6}, Shape{3});
      const auto state = rng.state();
      std::vector<testing::Checked> tensors{{"h", h}, {"table", table}};
      for (const auto& [name, p] : head->named_params()) tensors.push_back({name, p});
      const auto r = testing::gradcheck(
          [&] {
            rng.set_state(state);
            return head->train_loss(h, labels, seen);
          },
          tensors);
      BOOST_TEST(r.ok(), r.failed << " of " << r.checked << " coordinates off; worst " << r.worst);
    }
  }
}

BOOST_AUTO_TEST_CASE(baseline_heads_score_without_parameters) {
  core::Rng rng(13);
  model::Head::Context ctx = context(4, 5, rng);
  ctx.item_counts = Tensor::from(std::vector<float>{0, 7, 2, 9, 2}, Shape{5});
  auto pop = make_head("type: popularity", ctx);
  BOOST_TEST(pop->named_params().empty());
  const Var h = input(3, 4);
  const auto s = pop->forward(h).value().to_vector();
  for (int b = 0; b < 3; ++b) {  // the same for every row, ordered by count, ties equal
    BOOST_TEST(s[static_cast<std::size_t>(b * 5 + 3)] > s[static_cast<std::size_t>(b * 5 + 1)]);
    BOOST_TEST(s[static_cast<std::size_t>(b * 5 + 1)] > s[static_cast<std::size_t>(b * 5 + 2)]);
    BOOST_TEST(s[static_cast<std::size_t>(b * 5 + 2)] == s[static_cast<std::size_t>(b * 5 + 4)]);
  }
  const Tensor labels = Tensor::from_i64(std::vector<std::int64_t>{3, 1, -1}, Shape{3});
  const Var train = pop->train_loss(h, labels);
  BOOST_TEST(!train.requires_grad());
  BOOST_TEST(train.value().item() == pop->loss(pop->forward(h), labels).value().item(),
             boost::test_tools::tolerance(1e-5));
  testing::expect_error<Error>([&] { make_head("type: popularity", context(4, 5, rng)); },
                               {"popularity", "training frequency"});

  // random: uniform scores in [0, 1) that depend on the row's representation, not its batch.
  auto chance = make_head("{type: random, seed: 3}", context(4, 50, rng));
  const auto all = chance->forward(h).value().to_vector();
  BOOST_TEST(all == chance->forward(Var(h.value().clone())).value().to_vector());
  const auto hv = h.value().to_vector();
  const Tensor one = Tensor::from(std::vector<float>(hv.begin() + 4, hv.begin() + 8), Shape{1, 4});
  const auto alone = chance->forward(Var(one)).value().to_vector();
  BOOST_TEST(std::equal(alone.begin(), alone.end(), all.begin() + 50));  // row 1 scored alone = row 1 in the batch
  double mean = 0;
  for (const float v : all) {
    BOOST_TEST((v >= 0.f && v < 1.f));
    mean += v / static_cast<double>(all.size());
  }
  BOOST_TEST(mean == 0.5, boost::test_tools::tolerance(0.1));
  BOOST_TEST(!std::equal(all.begin(), all.begin() + 50, all.begin() + 50));  // rows differ
}

BOOST_AUTO_TEST_CASE(next_item_errors_are_clear) {
  core::Rng rng(7);
  testing::expect_error<Error>([&] { make_head("{type: next_item, tied: true}", context(4, 6, rng)); },
                               {"tied", "item embedding table"});
  Var table = input(6, 4);
  auto head = make_head("{type: next_item, negatives: 2}", context(4, 6, rng, table));
  testing::expect_error<IndexError>(
      [&] { head->train_loss(input(1, 4), Tensor::from_i64(std::vector<std::int64_t>{9}, Shape{1})); },
      {"label 9", "[0, 6)"});
  testing::expect_error<Error>(
      [&] { make_head("{type: next_item, negatives: 2, sampler: popularity}", context(4, 6, rng, table)); },
      {"popularity", "item counts"});
}

BOOST_AUTO_TEST_SUITE_END()
