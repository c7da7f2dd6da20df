// Pure metrics, ranking helpers, streaming top-K and negative sampling, against values worked out
// by hand in the comments (and, for AUC and top-K, against naive references on random data).
#include <boost/test/unit_test.hpp>

#include "framework/core/rng.h"
#include "framework/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

using namespace attnlab;
namespace ev = attnlab::eval;

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
namespace tt = boost::test_tools;

// O(N²) Mann–Whitney by counting pairs: the reference the sorted version must equal.
double auc_by_pairs(const std::vector<float>& s, const std::vector<float>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (y[i] != 1.f || y[j] != 0.f) continue;
      pairs += 1;
      wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  return wins / pairs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eval_class_metrics)

// 4 classes; column 3 is never the arg-max and no label is 3, so class 3 is not averaged.
//   row  scores                 pred  label
//   0    [.1 .7 .2 0]           1     1     correct
//   1    [.5 .5 0 0]  (tie)     0     1     wrong (tie -> lowest class)
//   2    [0 0 .9 0]             2     2     correct
//   3    [.3 .2 .1 0]           0     -1    skipped
//   4    [.2 .3 .1 0]           1     0     wrong
//   5    [0 0 1 0]              2     1     wrong
// accuracy = 2/5.
// class 0: tp 0, fp 1 (row 1), fn 1 (row 4)        P 0    R 0    F1 0
// class 1: tp 1, fp 1 (row 4), fn 2 (rows 1, 5)    P 1/2  R 1/3  F1 2/(2+1+2) = 2/5
// class 2: tp 1, fp 1 (row 5), fn 0                P 1/2  R 1    F1 2/(2+1)   = 2/3
// macro P = 1/3, R = (1/3 + 1)/3 = 4/9, F1 = (2/5 + 2/3)/3 = 16/45.
const std::vector<float> kScores{.1f, .7f, .2f, 0, .5f, .5f, 0,   0, 0, 0, .9f, 0,
                                 .3f, .2f, .1f, 0, .2f, .3f, .1f, 0, 0, 0, 1,   0};
const std::vector<std::int64_t> kLabels{1, 1, 2, -1, 0, 1};

BOOST_AUTO_TEST_CASE(accuracy_and_macro_prf_by_hand) {
  BOOST_TEST(ev::accuracy(kScores, 4, kLabels) == 0.4, tt::tolerance(1e-12));
  const ev::Prf prf = ev::macro_prf(kScores, 4, kLabels);
  BOOST_TEST(prf.precision == 1.0 / 3, tt::tolerance(1e-12));
  BOOST_TEST(prf.recall == 4.0 / 9, tt::tolerance(1e-12));
  BOOST_TEST(prf.f1 == 16.0 / 45, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(a_nan_row_predicts_nothing) {
  // Row 0 [NaN, 1] label 1: no prediction, wrong (it would be right if NaN were skipped in the
  // arg-max). Row 1 [1, 0] label 0: right. accuracy 1/2.
  // class 0: tp 1, fp 0, fn 0 -> P R F1 = 1; class 1: tp 0, fp 0, fn 1 -> 0, 0, 0. macro 1/2.
  const std::vector<float> s{kNaNf, 1, 1, 0};
  const std::vector<std::int64_t> y{1, 0};
  BOOST_TEST(ev::accuracy(s, 2, y) == 0.5);
  const ev::Prf prf = ev::macro_prf(s, 2, y);
  BOOST_TEST(prf.precision == 0.5);
  BOOST_TEST(prf.recall == 0.5);
  BOOST_TEST(prf.f1 == 0.5);
}

BOOST_AUTO_TEST_CASE(logloss_is_stable_log_softmax) {
  // [0, 0] label 0: -log(1/2) = log 2.
  // [1000, 0] label 1: log(e^1000 + 1) - 0 = 1000 (+ e^-1000): exp(1000) alone would overflow.
  // [log 3, 0] label 0: softmax = 3/4, loss log(4/3).
  // [5, 5] label -1: skipped.
  const std::vector<float> z{0, 0, 1000, 0, static_cast<float>(std::log(3.0)), 0, 5, 5};
  const std::vector<std::int64_t> y{0, 1, 0, -1};
  const double expected = (std::log(2.0) + 1000.0 + std::log(4.0 / 3.0)) / 3.0;  // 333.57635...
  BOOST_TEST(ev::logloss_classes(z, 2, y) == expected, tt::tolerance(1e-6));
  BOOST_TEST(std::isfinite(ev::logloss_classes(z, 2, y)));
}

BOOST_AUTO_TEST_CASE(no_labelled_rows_give_nan) {
  const std::vector<float> s{1, 2, 3, 4};
  const std::vector<std::int64_t> none{-1, -1};
  BOOST_TEST(std::isnan(ev::accuracy(s, 2, none)));
  BOOST_TEST(std::isnan(ev::macro_prf(s, 2, none).f1));
  BOOST_TEST(std::isnan(ev::logloss_classes(s, 2, none)));
  BOOST_TEST(std::isnan(ev::accuracy({}, 3, {})));
}

BOOST_AUTO_TEST_CASE(bad_class_inputs_throw) {
  const std::vector<float> s{1, 2, 3, 4};
  BOOST_CHECK_THROW(ev::accuracy(s, 3, std::vector<std::int64_t>{0, 1}), ShapeError);  // 4 != 2 x 3
  BOOST_CHECK_THROW(ev::accuracy(s, 2, std::vector<std::int64_t>{0, 2}), IndexError);  // 2 >= classes
  BOOST_CHECK_THROW(ev::logloss_classes(s, 2, std::vector<std::int64_t>{-2, 0}), IndexError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval_binary_metrics)

BOOST_AUTO_TEST_CASE(auc_counts_ties_as_half) {
  // positives: 0.4 (row 1), 0.8 (row 3); negatives: 0.1 (row 0), 0.4 (row 2).
  // pairs: (.4,.1) 1, (.4,.4) 1/2, (.8,.1) 1, (.8,.4) 1 -> 3.5 / 4 = 0.875.
  // Row 4 (score 100, label NaN) is skipped: counted as a positive it would make AUC 0.9166...
  const std::vector<float> s{.1f, .4f, .4f, .8f, 100};
  const std::vector<float> y{0, 1, 0, 1, kNaNf};
  BOOST_TEST(ev::auc(s, y) == 0.875);
}

BOOST_AUTO_TEST_CASE(auc_edge_cases) {
  BOOST_TEST(std::isnan(ev::auc(std::vector<float>{.1f, .9f}, std::vector<float>{1, 1})));    // one class
  BOOST_TEST(std::isnan(ev::auc({}, {})));                                                    // empty
  BOOST_TEST(std::isnan(ev::auc(std::vector<float>{kNaNf, .9f}, std::vector<float>{0, 1})));  // diverged
  // A constant scorer ties every pair: 1/2. A perfect one: 1; a reversed one: 0.
  BOOST_TEST(ev::auc(std::vector<float>{3, 3, 3}, std::vector<float>{0, 1, 1}) == 0.5);
  BOOST_TEST(ev::auc(std::vector<float>{1, 2, 3}, std::vector<float>{0, 1, 1}) == 1.0);
  BOOST_TEST(ev::auc(std::vector<float>{3, 2, 1}, std::vector<float>{0, 1, 1}) == 0.0);
  BOOST_CHECK_THROW(ev::auc(std::vector<float>{1, 2}, std::vector<float>{0, 2}), IndexError);
  BOOST_CHECK_THROW(ev::auc(std::vector<float>{1, 2}, std::vector<float>{0}), ShapeError);
}

BOOST_AUTO_TEST_CASE(auc_equals_pair_count_on_random_data_with_ties) {
  core::Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const auto n = static_cast<std::size_t>(2 + rng.below(300));
    std::vector<float> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = static_cast<float>(rng.below(7)) * 0.25f - 0.5f;  // 7 distinct values: many ties
      y[i] = rng.bernoulli(0.3f) ? 1.f : 0.f;
      if (rng.bernoulli(0.1f)) y[i] = kNaNf;
    }
    std::vector<float> sl, yl;  // the reference sees labelled rows only
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isnan(y[i])) sl.push_back(s[i]), yl.push_back(y[i]);
    const bool both = std::count(yl.begin(), yl.end(), 1.f) > 0 && std::count(yl.begin(), yl.end(), 0.f) > 0;
    BOOST_TEST_CONTEXT("trial " << trial << ", n " << n) {
      if (both)
        BOOST_TEST(ev::auc(s, y) == auc_by_pairs(sl, yl), tt::tolerance(1e-12));
      else
        BOOST_TEST(std::isnan(ev::auc(s, y)));
    }
  }
}

BOOST_AUTO_TEST_CASE(gauc_weights_users_by_rows_and_skips_single_class_users) {
  // user 7: the rows of auc_counts_ties_as_half -> AUC 0.875, 4 rows.
  // user 2: positives .2, .5 both below the negative .9 -> AUC 0, 3 rows.
  // user 5: labels 1, 1 -> one class, skipped (its AUC is undefined).
  // gauc = (4 * 0.875 + 3 * 0) / 7 = 0.5. Rows of the users are interleaved on purpose.
  const std::vector<float> s{.1f, .9f, .3f, .4f, .2f, .4f, .6f, .5f, .8f};
  const std::vector<float> y{0, 0, 1, 1, 1, 0, 1, 1, 1};
  const std::vector<std::int64_t> u{7, 2, 5, 7, 2, 7, 5, 2, 7};
  BOOST_TEST(ev::gauc(s, y, u) == 0.5);
  // Only single-class users: NaN.
  BOOST_TEST(std::isnan(ev::gauc(std::vector<float>{1, 2}, std::vector<float>{1, 0}, std::vector<std::int64_t>{1, 2})));
  BOOST_CHECK_THROW(ev::gauc(s, y, std::vector<std::int64_t>{1}), ShapeError);
}

BOOST_AUTO_TEST_CASE(binary_logloss_is_stable_and_accuracy_thresholds_logits_at_zero) {
  // nll = softplus(-z) for y = 1, softplus(z) for y = 0:
  //   z 0,    y 1: log 2                 = 0.693147
  //   z 2,    y 0: log(1 + e^2)          = 2.126928
  //   z -3,   y 0: log(1 + e^-3)         = 0.048587
  //   z 1000,  y 1: log(1 + e^-1000)        ~ 0
  //   z -1000, y 1: 1000 + log(1 + e^-1000) ~ 1000   (the naive log(1 + e^1000) overflows, even in f64)
  //   z 9,     y NaN: skipped
  // mean = 1002.868662 / 5 = 200.5737324.
  const std::vector<float> z{0, 2, -3, 1000, -1000, 9};
  const std::vector<float> y{1, 0, 0, 1, 1, kNaNf};
  BOOST_TEST(ev::logloss_binary(z, y) == 200.5737324, tt::tolerance(1e-8));
  // predictions (z > 0): 0, 1, 0, 1, 0 vs labels 1, 0, 0, 1, 1 -> right on rows 2 and 3: 2/5.
  BOOST_TEST(ev::accuracy_binary(z, y) == 0.4);
  BOOST_TEST(ev::accuracy_binary(std::vector<float>{kNaNf, kNaNf}, std::vector<float>{0, 1}) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval_regression_metrics)

BOOST_AUTO_TEST_CASE(rmse_and_mae_skip_missing_targets) {
  // errors: 1-2 = -1, 2-2 = 0, (3 vs NaN skipped), 4-0 = 4.
  // MSE = (1 + 0 + 16) / 3 = 17/3 -> RMSE sqrt(17/3) = 2.380476; MAE = 5/3.
  const std::vector<float> p{1, 2, 3, 4}, t{2, 2, kNaNf, 0};
  BOOST_TEST(ev::rmse(p, t) == std::sqrt(17.0 / 3.0), tt::tolerance(1e-12));
  BOOST_TEST(ev::mae(p, t) == 5.0 / 3.0, tt::tolerance(1e-12));
  BOOST_TEST(std::isnan(ev::rmse(p, std::vector<float>(4, kNaNf))));
  BOOST_TEST(std::isnan(ev::mae({}, {})));
  BOOST_CHECK_THROW(ev::rmse(p, std::vector<float>{1}), ShapeError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval_ranking)

BOOST_AUTO_TEST_CASE(target_rank_is_pessimistic_on_ties_and_nan) {
  // target .5; others .9, .5, .1, .5 -> not below .5: .9, .5, .5 -> rank 3.
  BOOST_TEST(ev::target_rank(std::vector<float>{.5f, .9f, .5f, .1f, .5f}) == 3);
  // constant scorer: tied with exactly m = 3 items -> rank 3.
  BOOST_TEST(ev::target_rank(std::vector<float>{1, 1, 1, 1}) == 3);
  BOOST_TEST(ev::target_rank(std::vector<float>{kNaNf, 0, 1}) == 2);      // NaN target: last
  BOOST_TEST(ev::target_rank(std::vector<float>{.5f, kNaNf, .1f}) == 1);  // NaN other beats it
  BOOST_TEST(ev::target_rank(std::vector<float>{2}) == 0);
  BOOST_CHECK_THROW(ev::target_rank({}), ShapeError);
}

BOOST_AUTO_TEST_CASE(full_rank_skips_padding_and_the_target_column) {
  // columns: 0 (padding, 9: would beat everything), 1 .2, 2 .7, 3 .5, 4 .7.
  const std::vector<float> row{9, .2f, .7f, .5f, .7f};
  BOOST_TEST(ev::full_rank(row, 2) == 1);  // others .2 .5 .7: one tie
  BOOST_TEST(ev::full_rank(row, 3) == 2);  // .7 and .7 above
  BOOST_TEST(ev::full_rank(row, 1) == 3);
  BOOST_CHECK_THROW(ev::full_rank(row, 0), IndexError);
  BOOST_CHECK_THROW(ev::full_rank(row, 5), IndexError);
}

BOOST_AUTO_TEST_CASE(hr_ndcg_mrr_from_known_ranks) {
  const std::vector<std::int64_t> r{0, 1, 3, 10};
  // k = 1: only rank 0 hits, gain 1 each -> 1/4.
  BOOST_TEST(ev::hit_rate(r, 1) == 0.25);
  BOOST_TEST(ev::ndcg(r, 1) == 0.25);
  BOOST_TEST(ev::mrr(r, 1) == 0.25);
  // k = 4: ranks 0, 1, 3 hit. ndcg = (1 + 1/log2 3 + 1/log2 5) / 4 = (1 + .6309298 + .4306766) / 4
  // = .5154016; mrr = (1 + 1/2 + 1/4) / 4 = .4375.
  BOOST_TEST(ev::hit_rate(r, 4) == 0.75);
  BOOST_TEST(ev::ndcg(r, 4) == 0.5154016, tt::tolerance(1e-6));
  BOOST_TEST(ev::mrr(r, 4) == 0.4375);
  // k = 11: all hit; ndcg adds 1/log2 12 = .2789429 -> .5851373; mrr adds 1/11 -> .4602273.
  BOOST_TEST(ev::hit_rate(r, 11) == 1.0);
  BOOST_TEST(ev::ndcg(r, 11) == 0.5851373, tt::tolerance(1e-6));
  BOOST_TEST(ev::mrr(r, 11) == 0.4602273, tt::tolerance(1e-6));
  BOOST_TEST(std::isnan(ev::ndcg({}, 10)));
  BOOST_CHECK_THROW(ev::hit_rate(r, 0), ShapeError);
}

BOOST_AUTO_TEST_CASE(rank_counter_over_chunks_equals_full_rank) {
  core::Rng rng(5);
  const std::int64_t rows = 9, items = 103;
  std::vector<float> s(static_cast<std::size_t>(rows * items));
  for (auto& v : s) v = static_cast<float>(rng.below(10));  // ties everywhere
  std::vector<std::int64_t> targets(rows);
  std::vector<float> target_scores(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    targets[static_cast<std::size_t>(r)] = 1 + static_cast<std::int64_t>(rng.below(items - 1));
    target_scores[static_cast<std::size_t>(r)] =
        s[static_cast<std::size_t>(r * items + targets[static_cast<std::size_t>(r)])];
  }
  for (const std::int64_t chunk : {1, 10, 64, 103}) {
    ev::RankCounter counter(targets, target_scores, items);
    // Chunks in reverse order: the counter must not care.
    for (std::int64_t first = ((items - 1) / chunk) * chunk; first >= 0; first -= chunk) {
      const std::int64_t n = std::min(chunk, items - first);
      std::vector<float> part;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < n; ++j) part.push_back(s[static_cast<std::size_t>(r * items + first + j)]);
      counter.add_chunk(part, n, first);
    }
    for (std::int64_t r = 0; r < rows; ++r)
      BOOST_TEST(counter.ranks()[static_cast<std::size_t>(r)] ==
                 ev::full_rank(std::span(s).subspan(static_cast<std::size_t>(r * items), items),
                               targets[static_cast<std::size_t>(r)]));
  }
  ev::RankCounter counter(targets, target_scores, items);
  BOOST_CHECK_THROW(counter.add_chunk(std::vector<float>(rows * 5), 5, items - 2), ShapeError);  // past the end
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval_streaming_topk)

BOOST_AUTO_TEST_CASE(equals_a_full_sort_across_chunk_sizes) {
  core::Rng rng(3);
  const std::int64_t rows = 6, items = 500, k = 17;
  std::vector<float> s(static_cast<std::size_t>(rows * items));
  for (auto& v : s) v = rng.bernoulli(0.01f) ? kNaNf : static_cast<float>(rng.below(40)) / 8.f;  // ties, a few NaN
  // The reference: every (item, score) of a row, sorted by score desc, NaN last, ties by lower id.
  std::vector<std::vector<std::pair<std::int64_t, float>>> expected(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    auto& e = expected[static_cast<std::size_t>(r)];
    for (std::int64_t j = 0; j < items; ++j) e.emplace_back(j, s[static_cast<std::size_t>(r * items + j)]);
    std::stable_sort(e.begin(), e.end(), [](const auto& a, const auto& b) {
      const float x = std::isnan(a.second) ? -INFINITY : a.second, y = std::isnan(b.second) ? -INFINITY : b.second;
      return x > y;  // stable on ids already in ascending order
    });
    e.resize(k);
  }
  for (const std::int64_t chunk : {1, 7, 64, 499, 500}) {
    ev::StreamingTopK topk(rows, k);
    for (std::int64_t first = 0; first < items; first += chunk) {
      const std::int64_t n = std::min(chunk, items - first);
      std::vector<float> part;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < n; ++j) part.push_back(s[static_cast<std::size_t>(r * items + first + j)]);
      topk.add_chunk(part, n, first);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      BOOST_TEST_CONTEXT("chunk " << chunk << " row " << r) {
        const auto got = topk.top(r);
        BOOST_TEST_REQUIRE(got.size() == static_cast<std::size_t>(k));
        for (std::size_t i = 0; i < got.size(); ++i) {
          BOOST_TEST(got[i].first == expected[static_cast<std::size_t>(r)][i].first);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_lower_id_and_short_rows_return_fewer) {
  // One row, items 0..4 all scoring 1, added in two chunks, later ids first: top-3 = 0, 1, 2.
  ev::StreamingTopK topk(1, 3);
  topk.add_chunk(std::vector<float>{1, 1}, 2, 3);
  BOOST_TEST(topk.top(0).size() == 2u);
  topk.add_chunk(std::vector<float>{1, 1, 1}, 3, 0);
  const auto t = topk.top(0);
  BOOST_TEST_REQUIRE(t.size() == 3u);
  BOOST_TEST(t[0].first == 0);
  BOOST_TEST(t[1].first == 1);
  BOOST_TEST(t[2].first == 2);
  BOOST_CHECK_THROW(topk.top(1), IndexError);
  BOOST_CHECK_THROW(topk.add_chunk(std::vector<float>{1}, 2, 0), ShapeError);
  BOOST_CHECK_THROW(ev::StreamingTopK(1, 0), ShapeError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(eval_negative_sampling)

BOOST_AUTO_TEST_CASE(uniform_draws_distinct_valid_ids_seeded_by_row) {
  ev::RankingProtocol p;
  p.mode = "sampled";
  p.negatives = 20;
  p.seed = 7;
  const std::int64_t items = 50;
  ev::NegativeSampler sampler(p, items);
  std::vector<std::int64_t> a, b, c;
  for (std::int64_t row = 0; row < 200; ++row) {
    const std::int64_t target = 1 + row % (items - 1);
    sampler.draw(row, target, a);
    BOOST_TEST_REQUIRE(a.size() == 20u);
    const std::set<std::int64_t> distinct(a.begin(), a.end());
    BOOST_TEST(distinct.size() == 20u);  // without replacement
    BOOST_TEST(*distinct.begin() >= 1);
    BOOST_TEST(*distinct.rbegin() < items);
    BOOST_TEST(distinct.count(target) == 0u);
    sampler.draw(row, target, b);
    BOOST_TEST(a == b);  // the same row draws the same negatives, whatever was drawn before
  }
  // Different rows and different seeds draw different sets (probability of equality ~ 1e-13).
  sampler.draw(0, 1, a);
  sampler.draw(1, 1, b);
  BOOST_TEST(a != b);
  p.seed = 8;
  ev::NegativeSampler(p, items).draw(0, 1, c);
  BOOST_TEST(a != c);
}

BOOST_AUTO_TEST_CASE(uniform_covers_every_non_target_id) {
  // items 5: ids 1..4; target 2 leaves the possible negatives {1, 3, 4}. Asking 2 of those 3 is
  // still sampling (3 would be full ranking): each id lies in a uniform 2-subset with chance 2/3.
  ev::RankingProtocol p;
  p.mode = "sampled";
  p.negatives = 2;
  ev::NegativeSampler sampler(p, 5);
  std::vector<int> seen(5, 0);
  std::vector<std::int64_t> out;
  for (std::int64_t row = 0; row < 300; ++row) {
    sampler.draw(row, 2, out);
    for (auto id : out) ++seen[static_cast<std::size_t>(id)];
  }
  BOOST_TEST(seen[0] == 0);
  BOOST_TEST(seen[2] == 0);
  // each of 3 ids is in a 2-subset with probability 2/3: ~200 of 300.
  for (int id : {1, 3, 4})
    BOOST_TEST((seen[static_cast<std::size_t>(id)] > 150 && seen[static_cast<std::size_t>(id)] < 250));
}

BOOST_AUTO_TEST_CASE(popularity_follows_counts_and_never_draws_zero_counts_or_the_target) {
  ev::RankingProtocol p;
  p.mode = "sampled";
  p.sampler = "popularity";
  p.negatives = 50;
  // ids:          0    1  2  3  4  5
  // counts:       99   1  0  3  6  0    (id 0 is padding: its count is ignored)
  // target 1 -> P(3) = 3/9, P(4) = 6/9; ids 0, 2, 5 (count 0) and 1 (target) never.
  const std::vector<float> counts{99, 1, 0, 3, 6, 0};
  ev::NegativeSampler sampler(p, 6, counts);
  std::vector<double> seen(6, 0);
  std::vector<std::int64_t> out;
  for (std::int64_t row = 0; row < 400; ++row) {
    sampler.draw(row, 1, out);
    BOOST_TEST_REQUIRE(out.size() == 50u);
    for (auto id : out) seen[static_cast<std::size_t>(id)] += 1;
  }
  BOOST_TEST(seen[0] == 0);
  BOOST_TEST(seen[1] == 0);
  BOOST_TEST(seen[2] == 0);
  BOOST_TEST(seen[5] == 0);
  const double share4 = seen[4] / (seen[3] + seen[4]);  // 2/3 expected; sd over 20000 draws ~ .0033
  BOOST_TEST((share4 > 0.64 && share4 < 0.70), "share of id 4: " << share4);
  // target 4 -> P(1) = 1/4, P(3) = 3/4.
  std::fill(seen.begin(), seen.end(), 0.0);
  for (std::int64_t row = 0; row < 400; ++row) {
    sampler.draw(row, 4, out);
    for (auto id : out) seen[static_cast<std::size_t>(id)] += 1;
  }
  BOOST_TEST(seen[4] == 0);
  BOOST_TEST(seen[2] + seen[5] + seen[0] == 0);
  const double share3 = seen[3] / (seen[1] + seen[3]);
  BOOST_TEST((share3 > 0.72 && share3 < 0.78), "share of id 3: " << share3);
}

BOOST_AUTO_TEST_CASE(uniform_draws_avoid_the_history_and_stay_uniform_over_the_rest) {
  // items 12: ids 1..11. Target 6, history {2, 3, 6, 9, 11} (the target may be in it, ids out of range
  // are ignored): allowed {1, 4, 5, 7, 8, 10}. 3 of those 6 per row, without replacement, each id in
  // half the rows.
  ev::RankingProtocol p;
  p.mode = "sampled";
  p.negatives = 3;
  p.exclude_history = true;
  ev::NegativeSampler sampler(p, 12);
  const std::vector<std::int64_t> history{2, 3, 6, 9, 11, 40};
  std::vector<double> freq(12, 0);
  std::vector<std::int64_t> out, again;
  const int rows = 3000;
  for (std::int64_t row = 0; row < rows; ++row) {
    sampler.draw(row, 6, out, history);
    BOOST_TEST_REQUIRE(out.size() == 3u);
    BOOST_TEST(std::set<std::int64_t>(out.begin(), out.end()).size() == 3u);
    for (auto id : out) freq[static_cast<std::size_t>(id)] += 1.0 / rows;
    sampler.draw(row, 6, again, history);
    BOOST_TEST(out == again);
  }
  for (const int id : {0, 2, 3, 6, 9, 11}) BOOST_TEST(freq[static_cast<std::size_t>(id)] == 0.0);
  for (const int id : {1, 4, 5, 7, 8, 10})
    BOOST_TEST(freq[static_cast<std::size_t>(id)] == 0.5, boost::test_tools::tolerance(0.08));
  // Fewer allowed ids than negatives: all of them.
  p.negatives = 8;
  ev::NegativeSampler(p, 12).draw(0, 6, out, history);
  BOOST_TEST(std::set<std::int64_t>(out.begin(), out.end()) == (std::set<std::int64_t>{1, 4, 5, 7, 8, 10}));
  // Popularity draws skip the history too.
  p.sampler = "popularity";
  p.negatives = 40;
  ev::NegativeSampler pop(p, 12, std::vector<float>{0, 1, 5, 5, 1, 1, 1, 1, 1, 5, 1, 5});
  pop.draw(3, 6, out, history);
  BOOST_TEST(out.size() == 40u);
  for (auto id : out) BOOST_TEST(!std::binary_search(history.begin(), history.end(), id));
}

BOOST_AUTO_TEST_CASE(an_evaluator_that_excludes_the_history_needs_the_rows_seen_items) {
  // ids 0..5, target 5 with the highest score but one: only item 4 beats it. With the history {4}
  // excluded and 3 negatives from {1, 2, 3}, the target ranks first; without exclusion it can lose.
  data::LabelColumn task{.task = "next", .kind = data::LabelKind::kItem, .classes = 6};
  ev::EvalOptions o{
      .metrics = {"hr"},
      .ks = {1},
      .ranking = {.mode = "sampled", .negatives = 3, .sampler = "uniform", .exclude_history = true, .seed = 1}};
  const core::Tensor scores = core::Tensor::from(std::vector<float>{0, .1f, .2f, .3f, .9f, .5f}, core::Shape{1, 6});
  const core::Tensor labels = core::Tensor::from_i64(std::vector<std::int64_t>{5}, core::Shape{1});
  ev::TaskEvaluator with(task, o);
  BOOST_TEST(with.wants_seen());
  BOOST_CHECK_THROW(with.add(scores, labels, {}, std::vector<std::int64_t>{0}), ShapeError);
  with.add(scores, labels, {}, std::vector<std::int64_t>{0}, std::vector<std::int64_t>{0, 2},
           std::vector<std::int64_t>{4, 5});
  BOOST_TEST(with.finish().at(0).second == 1.0);
  o.ranking.exclude_history = false;
  ev::TaskEvaluator without(task, o);
  BOOST_TEST(!without.wants_seen());
  double hits = 0;
  for (std::int64_t row = 0; row < 400; ++row) without.add(scores, labels, {}, std::vector<std::int64_t>{row});
  hits = without.finish().at(0).second;
  BOOST_TEST(hits == 0.25, boost::test_tools::tolerance(0.5));  // item 4 is among 3 of {1, 2, 3, 4} in 3/4 of the rows
}

BOOST_AUTO_TEST_CASE(unusable_counts_and_protocols_throw) {
  ev::RankingProtocol p;
  p.mode = "sampled";
  p.sampler = "popularity";
  p.negatives = 2;
  BOOST_CHECK_THROW(ev::NegativeSampler(p, 6, std::vector<float>{0, 1, 0, 0, 0, 0}), data::DataError);   // one positive
  BOOST_CHECK_THROW(ev::NegativeSampler(p, 6, std::vector<float>{0, 1, 2}), data::DataError);            // size
  BOOST_CHECK_THROW(ev::NegativeSampler(p, 6, std::vector<float>{0, 1, -2, 1, 1, 1}), data::DataError);  // negative
  p.sampler = "zipf";
  BOOST_CHECK_THROW(ev::NegativeSampler(p, 6), Error);
  p.sampler = "uniform";
  p.negatives = 0;
  BOOST_CHECK_THROW(ev::NegativeSampler(p, 6), Error);
}

BOOST_AUTO_TEST_CASE(protocol_descriptions) {
  ev::RankingProtocol p;
  BOOST_TEST(p.describe(9067) == "full ranking over 9066 items");
  p.mode = "sampled";
  p.seed = 7;
  BOOST_TEST(p.describe(9067) == "sampled ranking: 100 uniform negatives per target (without replacement), seed 7");
  p.exclude_history = true;
  BOOST_TEST(p.describe(9067) ==
             "sampled ranking: 100 uniform negatives per target (without replacement, none from the example's "
             "history), seed 7");
  p.exclude_history = false;
  p.sampler = "popularity";
  BOOST_TEST(p.describe(9067) ==
             "sampled ranking: 100 popularity negatives per target (with replacement, by training counts), seed 7");
  BOOST_TEST(!p.is_full(103));  // 101 possible negatives
  BOOST_TEST(p.is_full(102));   // 100 possible negatives: all of them
  BOOST_TEST(p.describe(51) == "full ranking over 50 items (100 sampled negatives asked, only 49 exist)");
}

BOOST_AUTO_TEST_SUITE_END()

// The metric table is the one place a metric is defined: spec validation, the evaluator, the
// trainer's selection and the index's directions all read it.
BOOST_AUTO_TEST_SUITE(eval_metric_table)

BOOST_AUTO_TEST_CASE(names_kinds_and_directions_come_from_one_table) {
  using data::LabelKind;
  const auto& names = ev::metric_names();
  BOOST_TEST(std::set<std::string>(names.begin(), names.end()).size() == names.size());  // no repeats
  for (const auto& m : ev::metric_table()) {
    BOOST_TEST(!m.summary.empty(), m.name);
    BOOST_TEST(static_cast<bool>(m.compute), m.name);
    BOOST_TEST(m.ranked == (m.kind == LabelKind::kItem), m.name);  // only item tasks rank
    BOOST_TEST(ev::find_metric(m.name, m.kind) == &m);
  }
  BOOST_TEST(ev::applies("logloss", LabelKind::kClass));
  BOOST_TEST(ev::applies("logloss", LabelKind::kBinary));
  BOOST_TEST(!ev::applies("auc", LabelKind::kClass));
  BOOST_TEST(!ev::applies("rmse", LabelKind::kItem));
  BOOST_TEST(ev::lower_is_better("test/logloss"));
  BOOST_TEST(ev::lower_is_better("test/click.rmse"));
  BOOST_TEST(ev::lower_is_better("valid/loss"));
  BOOST_TEST(ev::lower_is_better("mae"));
  BOOST_TEST(!ev::lower_is_better("test/hr@10"));
  BOOST_TEST(!ev::lower_is_better("test/click.auc"));
  BOOST_TEST(!ev::lower_is_better("ndcg@20"));
}

BOOST_AUTO_TEST_CASE(binary_precision_recall_f1_at_threshold_one_half) {
  // logits > 0 predict positive: predictions 1 1 0 1 0 (NaN logit: no prediction), labels 1 0 1 1 0,
  // the sixth row unlabelled. tp = 2, predicted = 3, positive = 3.
  const std::vector<float> z{2.f, 0.5f, -1.f, 3.f, NAN, 4.f}, y{1, 0, 1, 1, 0, NAN};
  const ev::Prf p = ev::binary_prf(z, y);
  BOOST_TEST(p.precision == 2.0 / 3.0, tt::tolerance(1e-12));
  BOOST_TEST(p.recall == 2.0 / 3.0, tt::tolerance(1e-12));
  BOOST_TEST(p.f1 == 2.0 / 3.0, tt::tolerance(1e-12));
  const std::vector<float> none{-1.f, -2.f}, ones{1, 0};
  BOOST_TEST(std::isnan(ev::binary_prf(none, ones).precision));  // nothing predicted positive
  BOOST_TEST(ev::binary_prf(none, ones).recall == 0.0);
  for (const char* m : {"precision", "recall", "f1"}) BOOST_TEST(ev::applies(m, data::LabelKind::kBinary), m);
  BOOST_TEST(!ev::applies("precision", data::LabelKind::kClass));
}

BOOST_AUTO_TEST_CASE(a_ranked_metric_is_computed_at_each_cutoff) {
  const std::vector<std::int64_t> ranks{0, 2, 11, 1};  // 0 = the best rank
  const ev::MetricInputs in{.ranks = ranks};
  const ev::Metric* hr = ev::find_metric("hr", data::LabelKind::kItem);
  BOOST_REQUIRE(hr != nullptr);
  BOOST_TEST(hr->compute(in, 1) == 0.25);
  BOOST_TEST(hr->compute(in, 3) == 0.75);
  BOOST_TEST(hr->compute(in, 20) == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()
