// TaskEvaluator: batch-size, order and thread independence (bitwise), agreement with the pure
// metrics, ranking protocols, memory bound for item tasks, and input checks.
#include <boost/test/unit_test.hpp>

#include "framework/core/rng.h"
#include "framework/eval/metrics.h"

#include <tbb/global_control.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

using namespace attnlab;
namespace ev = attnlab::eval;
using core::Shape;
using core::Tensor;
using data::LabelKind;

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
using Results = std::vector<std::pair<std::string, double>>;

// One task's split: predictions [N, width] (width 1: [N]), labels, users, and example indices
// (not 0..N-1, to show they are used as given).
struct Split {
  data::LabelColumn task;
  std::int64_t n = 0, width = 1;
  std::vector<float> pred;
  std::vector<std::int64_t> ids;
  std::vector<float> values;
  std::vector<std::int64_t> users, rows;
};

Split make_split(LabelKind kind, std::int64_t n, std::int64_t classes, std::uint64_t seed) {
  core::Rng rng(seed);
  Split s;
  s.task.task = "t";
  s.task.kind = kind;
  s.task.classes = classes;
  s.n = n;
  s.width = (kind == LabelKind::kClass || kind == LabelKind::kItem) ? classes : 1;
  s.pred.resize(static_cast<std::size_t>(n * s.width));
  // Coarse values: plenty of ties, so tie handling is exercised too.
  for (auto& v : s.pred) v = static_cast<float>(rng.below(9)) * 0.5f - 2.f;
  for (std::int64_t i = 0; i < n; ++i) {
    s.rows.push_back(1000 + 3 * i);
    s.users.push_back(static_cast<std::int64_t>(rng.below(6)));
    const bool missing = rng.bernoulli(0.1f);
    switch (kind) {
      case LabelKind::kClass:
        s.ids.push_back(missing ? -1 : static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(classes))));
        break;
      case LabelKind::kItem:
        s.ids.push_back(missing ? -1
                                : 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(classes - 1))));
        break;
      case LabelKind::kBinary:
        s.values.push_back(missing ? kNaNf : (rng.bernoulli(0.4f) ? 1.f : 0.f));
        break;
      case LabelKind::kValue:
        s.values.push_back(missing ? kNaNf : rng.normal(0.f, 1.f));
        break;
    }
  }
  return s;
}

// Feeds the split in batches of `batch`, first to last or last to first.
Results run(const Split& s, const ev::EvalOptions& o, std::int64_t batch, bool reverse_batches = false,
            std::vector<float> counts = {}) {
  ev::TaskEvaluator e(s.task, o, std::move(counts));
  std::vector<std::int64_t> starts;
  for (std::int64_t b = 0; b < s.n; b += batch) starts.push_back(b);
  if (reverse_batches) std::reverse(starts.begin(), starts.end());
  for (const std::int64_t b0 : starts) {
    const std::int64_t B = std::min(batch, s.n - b0);
    const auto sz = [](std::int64_t v) { return static_cast<std::size_t>(v); };
    Tensor pred = s.width == 1
                      ? Tensor::from(std::span(s.pred).subspan(sz(b0), sz(B)), Shape{B})
                      : Tensor::from(std::span(s.pred).subspan(sz(b0 * s.width), sz(B * s.width)), Shape{B, s.width});
    Tensor labels = s.ids.empty() ? Tensor::from(std::span(s.values).subspan(sz(b0), sz(B)), Shape{B})
                                  : Tensor::from_i64(std::span(s.ids).subspan(sz(b0), sz(B)), Shape{B});
    Tensor users = Tensor::from_i64(std::span(s.users).subspan(sz(b0), sz(B)), Shape{B});
    e.add(pred, labels, users, std::span(s.rows).subspan(sz(b0), sz(B)));
  }
  return e.finish();
}

void check_bitwise_equal(const Results& a, const Results& b) {
  BOOST_TEST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].first == b[i].first);
    BOOST_TEST(std::bit_cast<std::uint64_t>(a[i].second) == std::bit_cast<std::uint64_t>(b[i].second),
               a[i].first << ": " << a[i].second << " vs " << b[i].second);
  }
}

double get(const Results& r, const std::string& name) {
  for (const auto& [k, v] : r)
    if (k == name) return v;
  BOOST_FAIL("no metric " << name);
  return 0;
}

// The split's labelled rows, for references built from the pure functions.
template <class T>
std::vector<T> labelled(const Split& s, const std::vector<T>& v, std::int64_t width) {
  std::vector<T> out;
  for (std::int64_t i = 0; i < s.n; ++i) {
    const bool miss =
        s.ids.empty() ? std::isnan(s.values[static_cast<std::size_t>(i)]) : s.ids[static_cast<std::size_t>(i)] < 0;
    if (miss) continue;
    for (std::int64_t j = 0; j < width; ++j) out.push_back(v[static_cast<std::size_t>(i * width + j)]);
  }
  return out;
}

ev::EvalOptions options(std::vector<std::string> metrics, std::vector<std::int64_t> ks = {1, 5, 10}) {
  ev::EvalOptions o;
  o.metrics = std::move(metrics);
  o.ks = std::move(ks);
  return o;
}

const std::vector<std::string> kAll{
    "accuracy", "macro_precision", "macro_recall", "macro_f1", "precision", "recall", "f1", "auc",
    "gauc",     "logloss",         "rmse",         "mae",      "hr",        "ndcg",   "mrr"};

}  // namespace

BOOST_AUTO_TEST_SUITE(eval_task_evaluator)

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_batch_size_or_order) {
  const std::int64_t N = 61;
  struct Case {
    LabelKind kind;
    std::int64_t classes;
    std::string mode, sampler;
  };
  const std::vector<Case> cases{
      {LabelKind::kClass, 5, "full", ""},           {LabelKind::kBinary, 0, "full", ""},
      {LabelKind::kValue, 0, "full", ""},           {LabelKind::kItem, 40, "full", ""},
      {LabelKind::kItem, 40, "sampled", "uniform"}, {LabelKind::kItem, 40, "sampled", "popularity"}};
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(c.kind) << " " << c.mode << " " << c.sampler) {
      const Split s = make_split(c.kind, N, c.classes, 17);
      ev::EvalOptions o = options(kAll);
      o.ranking.mode = c.mode;
      o.ranking.sampler = c.sampler.empty() ? "uniform" : c.sampler;
      o.ranking.negatives = 12;
      o.ranking.seed = 3;
      std::vector<float> counts(static_cast<std::size_t>(std::max<std::int64_t>(c.classes, 0)));
      for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<float>(i % 4);  // some zeros
      const Results whole = run(s, o, N, false, counts);
      BOOST_TEST(!whole.empty());
      for (const std::int64_t batch : {1, 7}) check_bitwise_equal(run(s, o, batch, false, counts), whole);
      check_bitwise_equal(run(s, o, 7, true, counts), whole);  // batches in reverse order
    }
  }
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_threads) {
  // 300 x 400 = 120000 scores per batch: above the parallel threshold, so TBB splits the rows.
  const Split s = make_split(LabelKind::kItem, 300, 400, 23);
  const ev::EvalOptions o = options({"hr", "ndcg", "mrr"});
  const Results parallel = run(s, o, 300);
  Results serial;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    serial = run(s, o, 300);
  }
  check_bitwise_equal(serial, parallel);
  check_bitwise_equal(run(s, o, 1), parallel);  // batch 1: the serial path
}

BOOST_AUTO_TEST_CASE(class_and_binary_tasks_agree_with_the_pure_metrics) {
  const Split c = make_split(LabelKind::kClass, 50, 4, 5);
  const Results rc = run(c, options(kAll), 8);
  // Only the metrics that apply, in the requested order.
  BOOST_TEST_REQUIRE(rc.size() == 5u);
  BOOST_TEST(rc[0].first == "accuracy");
  BOOST_TEST(rc[4].first == "logloss");
  const auto p = labelled(c, c.pred, 4);
  const auto y = labelled(c, c.ids, 1);
  BOOST_TEST(get(rc, "accuracy") == ev::accuracy(p, 4, y));
  BOOST_TEST(get(rc, "macro_f1") == ev::macro_prf(p, 4, y).f1);
  BOOST_TEST(get(rc, "macro_recall") == ev::macro_prf(p, 4, y).recall);
  BOOST_TEST(get(rc, "logloss") == ev::logloss_classes(p, 4, y));

  const Split b = make_split(LabelKind::kBinary, 80, 0, 6);
  const Results rb = run(b, options(kAll), 9);
  BOOST_TEST_REQUIRE(rb.size() == 7u);  // accuracy, precision, recall, f1, auc, gauc, logloss
  const auto z = labelled(b, b.pred, 1);
  const auto yb = labelled(b, b.values, 1);
  const auto u = labelled(b, b.users, 1);
  BOOST_TEST(get(rb, "auc") == ev::auc(z, yb));
  BOOST_TEST(get(rb, "gauc") == ev::gauc(z, yb, u));
  BOOST_TEST(get(rb, "logloss") == ev::logloss_binary(z, yb));
  BOOST_TEST(get(rb, "f1") == ev::binary_prf(z, yb).f1);
  BOOST_TEST(get(rb, "recall") == ev::binary_prf(z, yb).recall);
  BOOST_TEST(get(rb, "accuracy") == ev::accuracy_binary(z, yb));

  const Split v = make_split(LabelKind::kValue, 30, 0, 8);
  const Results rv = run(v, options(kAll), 4);
  BOOST_TEST_REQUIRE(rv.size() == 2u);
  BOOST_TEST(get(rv, "rmse") == ev::rmse(v.pred, v.values));
  BOOST_TEST(get(rv, "mae") == ev::mae(v.pred, v.values));
}

BOOST_AUTO_TEST_CASE(item_task_full_ranking_by_hand) {
  // items 6 (ids 1..5), ks {1, 3}.
  //   row 0: scores [9, .1, .9, .3, .9, .2], target 2 (.9): id 4 ties  -> rank 1
  //   row 1: scores [0, .5, .1, .1, .1, .1], target 1 (.5): best       -> rank 0
  //   row 2: scores [0, 1, 1, 1, 1, 1],      target 3: constant scorer -> rank 4 (ties with 4 items)
  //   row 3: label -1: skipped
  // hr@1 = 1/3, hr@3 = 2/3; ndcg@3 = (1/log2 3 + 1) / 3 = .5436432; mrr@3 = (1/2 + 1) / 3 = .5.
  data::LabelColumn task;
  task.task = "next";
  task.kind = LabelKind::kItem;
  task.classes = 6;
  ev::TaskEvaluator e(task, options({"hr", "ndcg", "mrr", "recall"}, {1, 3}));
  const std::vector<float> scores{9, .1f, .9f, .3f, .9f, .2f, 0, .5f, .1f, .1f, .1f, .1f,
                                  0, 1,   1,   1,   1,   1,   0, 0,   0,   0,   0,   0};
  const std::vector<std::int64_t> labels{2, 1, 3, -1}, rows{0, 1, 2, 3};
  e.add(Tensor::from(scores, Shape{4, 6}), Tensor::from_i64(labels, Shape{4}), Tensor(), rows);
  const Results r = e.finish();
  BOOST_TEST_REQUIRE(r.size() == 8u);
  BOOST_TEST(r[0].first == "hr@1");
  BOOST_TEST(r[7].first == "recall@3");
  BOOST_TEST(get(r, "hr@1") == 1.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(get(r, "hr@3") == 2.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(get(r, "recall@3") == 2.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(get(r, "ndcg@3") == 0.5436432, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(get(r, "mrr@3") == 0.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.rows() == 3);
  BOOST_TEST(e.protocol() == "full ranking over 5 items");
}

BOOST_AUTO_TEST_CASE(constant_scorer_earns_nothing) {
  Split s = make_split(LabelKind::kItem, 40, 50, 9);
  std::fill(s.pred.begin(), s.pred.end(), 0.25f);
  // Full: every target ties with the 48 other items -> rank 48: hr@10 = hr@48 = 0, hr@49 = 1.
  const Results full = run(s, options({"hr"}, {10, 48, 49}), 8);
  BOOST_TEST(get(full, "hr@10") == 0.0);
  BOOST_TEST(get(full, "hr@48") == 0.0);
  BOOST_TEST(get(full, "hr@49") == 1.0);
  // Sampled with 20 negatives: rank 20 -> hr@20 = 0, hr@21 = 1.
  ev::EvalOptions o = options({"hr"}, {20, 21});
  o.ranking.mode = "sampled";
  o.ranking.negatives = 20;
  const Results sampled = run(s, o, 8);
  BOOST_TEST(get(sampled, "hr@20") == 0.0);
  BOOST_TEST(get(sampled, "hr@21") == 1.0);
}

BOOST_AUTO_TEST_CASE(sampled_ranks_match_the_sampler_and_depend_on_the_seed) {
  const Split s = make_split(LabelKind::kItem, 60, 200, 31);
  ev::EvalOptions o = options({"mrr"}, {1000});  // mrr@1000: the mean of 1/(rank+1), no cutoff
  o.ranking.mode = "sampled";
  o.ranking.negatives = 15;
  o.ranking.seed = 42;
  // Reference: ranks from the sampler's negatives, one row at a time.
  ev::NegativeSampler sampler(o.ranking, 200);
  double sum = 0;
  std::int64_t n = 0;
  std::vector<std::int64_t> neg;
  for (std::int64_t i = 0; i < s.n; ++i) {
    const std::int64_t t = s.ids[static_cast<std::size_t>(i)];
    if (t < 0) continue;
    sampler.draw(s.rows[static_cast<std::size_t>(i)], t, neg);
    std::vector<float> cand{s.pred[static_cast<std::size_t>(i * 200 + t)]};
    for (auto j : neg) cand.push_back(s.pred[static_cast<std::size_t>(i * 200 + j)]);
    sum += 1.0 / (static_cast<double>(ev::target_rank(cand)) + 1.0);
    ++n;
  }
  const double a = get(run(s, o, 11), "mrr@1000");
  BOOST_TEST(a == sum / static_cast<double>(n), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(get(run(s, o, 60), "mrr@1000") == a);
  o.ranking.seed = 43;
  BOOST_TEST(get(run(s, o, 11), "mrr@1000") != a);
  // Sampled ranks are never worse than full ranks (a subset of the competitors).
  o.ranking.mode = "full";
  BOOST_TEST(get(run(s, o, 11), "mrr@1000") < a);
}

BOOST_AUTO_TEST_CASE(too_many_negatives_means_full_ranking) {
  const Split s = make_split(LabelKind::kItem, 30, 12, 4);
  ev::EvalOptions o = options({"hr", "ndcg"});
  const Results full = run(s, o, 30);
  o.ranking.mode = "sampled";
  o.ranking.negatives = 10;  // = items - 2: every possible negative
  check_bitwise_equal(run(s, o, 30), full);
  data::LabelColumn task = s.task;
  BOOST_TEST(ev::TaskEvaluator(task, o).protocol() ==
             "full ranking over 11 items (10 sampled negatives asked, only 10 exist)");
}

BOOST_AUTO_TEST_CASE(item_task_keeps_only_ranks) {
  // Memory argument: after add() of a [64, items] batch the evaluator holds rows_ and ranks_
  // (two i64 per row), never the scores: the bytes do not grow with items.
  std::vector<std::int64_t> stored;
  for (const std::int64_t items : {100, 5000}) {
    Split s = make_split(LabelKind::kItem, 64, items, 2);
    for (auto& id : s.ids) id = std::max<std::int64_t>(id, 1);  // every row labelled
    data::LabelColumn task = s.task;
    ev::TaskEvaluator e(task, options({"hr", "ndcg"}));
    e.add(Tensor::from(s.pred, Shape{64, items}), Tensor::from_i64(s.ids, Shape{64}), Tensor(), s.rows);
    BOOST_TEST(e.stored_bytes() <= 64 * 2 * 8);
    BOOST_TEST(e.stored_bytes() < 64 * items * 4);
    stored.push_back(e.stored_bytes());
  }
  BOOST_TEST(stored[0] == stored[1]);
}

BOOST_AUTO_TEST_CASE(zero_rows_give_nan_and_reset_forgets) {
  data::LabelColumn task;
  task.task = "ctr";
  task.kind = LabelKind::kBinary;
  ev::TaskEvaluator e(task, options({"auc", "logloss"}));
  for (const auto& [name, v] : e.finish()) BOOST_TEST(std::isnan(v), name);
  e.add(Tensor::from(std::vector<float>{1, -1}, Shape{2}), Tensor::from(std::vector<float>{1, 0}, Shape{2}), Tensor(),
        std::vector<std::int64_t>{0, 1});
  BOOST_TEST(get(e.finish(), "auc") == 1.0);
  e.reset();
  BOOST_TEST(e.rows() == 0);
  BOOST_TEST(std::isnan(get(e.finish(), "auc")));
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_task_and_shapes) {
  data::LabelColumn task;
  task.task = "genre";
  task.kind = LabelKind::kClass;
  task.classes = 3;
  ev::TaskEvaluator e(task, options({"accuracy"}));
  const std::vector<std::int64_t> rows{0, 1};
  const Tensor good = Tensor::zeros(Shape{2, 3});
  const Tensor labels = Tensor::from_i64(std::vector<std::int64_t>{0, 2}, Shape{2});
  auto message = [&](auto&& f) {
    try {
      f();
    } catch (const Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  // predictions width 4 vs 3 classes
  BOOST_CHECK_THROW(e.add(Tensor::zeros(Shape{2, 4}), labels, Tensor(), rows), ShapeError);
  const std::string m = message([&] { e.add(Tensor::zeros(Shape{2, 4}), labels, Tensor(), rows); });
  BOOST_TEST(m.find("eval genre") != std::string::npos, m);
  BOOST_TEST(m.find("[2, 4]") != std::string::npos, m);
  BOOST_TEST(m.find("[2, 3]") != std::string::npos, m);
  // labels f32 for a class task
  BOOST_CHECK_THROW(e.add(good, Tensor::zeros(Shape{2}), Tensor(), rows), DTypeError);
  // labels [3] for predictions [2, 3]
  BOOST_CHECK_THROW(e.add(good, Tensor::from_i64(std::vector<std::int64_t>{0, 1, 2}, Shape{3}), Tensor(), rows),
                    ShapeError);
  // label 3 out of range: nothing of the batch is kept
  const std::string oor = message([&] {
    e.add(good, Tensor::from_i64(std::vector<std::int64_t>{0, 3}, Shape{2}), Tensor(), rows);
  });
  BOOST_TEST(oor.find("eval genre") != std::string::npos, oor);
  BOOST_CHECK_THROW(e.add(good, Tensor::from_i64(std::vector<std::int64_t>{0, 3}, Shape{2}), Tensor(), rows),
                    IndexError);
  BOOST_TEST(e.rows() == 0);
  // rows of the wrong length
  BOOST_CHECK_THROW(e.add(good, labels, Tensor(), std::vector<std::int64_t>{0}), ShapeError);
  BOOST_CHECK_NO_THROW(e.add(good, labels, Tensor(), rows));
  BOOST_TEST(e.rows() == 2);

  // Item task: label 0 (padding) is not an item.
  data::LabelColumn items;
  items.task = "next";
  items.kind = LabelKind::kItem;
  items.classes = 4;
  ev::TaskEvaluator ei(items, options({"hr"}));
  BOOST_CHECK_THROW(
      ei.add(Tensor::zeros(Shape{2, 4}), Tensor::from_i64(std::vector<std::int64_t>{0, 1}, Shape{2}), Tensor(), rows),
      IndexError);
  // Binary task: gauc without users; label 2.
  data::LabelColumn ctr;
  ctr.task = "ctr";
  ctr.kind = LabelKind::kBinary;
  ev::TaskEvaluator eb(ctr, options({"gauc"}));
  BOOST_CHECK_THROW(eb.add(Tensor::zeros(Shape{2}), Tensor::zeros(Shape{2}), Tensor(), rows), ShapeError);
  BOOST_CHECK_THROW(eb.add(Tensor::zeros(Shape{2}), Tensor::from(std::vector<float>{0, 2}, Shape{2}),
                           Tensor::from_i64(std::vector<std::int64_t>{0, 1}, Shape{2}), rows),
                    IndexError);
  BOOST_CHECK_NO_THROW(eb.add(Tensor::zeros(Shape{2, 1}), Tensor::zeros(Shape{2}),
                              Tensor::from_i64(std::vector<std::int64_t>{0, 1}, Shape{2}), rows));
  // Unknown metrics, bad cutoffs and protocols are refused up front.
  BOOST_CHECK_THROW(ev::TaskEvaluator(task, options({"hr@10"})), Error);
  BOOST_CHECK_THROW(ev::TaskEvaluator(items, options({"hr"}, {0})), Error);
  ev::EvalOptions o = options({"hr"});
  o.ranking.mode = "approximate";
  BOOST_CHECK_THROW(ev::TaskEvaluator(items, o), Error);
  o.ranking.mode = "sampled";
  o.ranking.sampler = "popularity";
  o.ranking.negatives = 1;
  BOOST_CHECK_THROW(ev::TaskEvaluator(items, o), data::DataError);  // no counts
}

BOOST_AUTO_TEST_CASE(metric_names_and_applicability) {
  BOOST_TEST(ev::metric_names() == kAll, boost::test_tools::per_element());
  std::int64_t total = 0;
  for (const auto& m : ev::metric_names())
    for (auto k : {LabelKind::kClass, LabelKind::kBinary, LabelKind::kValue, LabelKind::kItem})
      total += ev::applies(m, k);
  BOOST_TEST(total == 18);  // 5 class + 7 binary + 2 value + 4 item
  BOOST_TEST(ev::applies("accuracy", LabelKind::kBinary));
  BOOST_TEST(!ev::applies("auc", LabelKind::kClass));
  BOOST_TEST(!ev::applies("hr", LabelKind::kValue));
  BOOST_TEST(ev::applies("recall", LabelKind::kItem));
}

BOOST_AUTO_TEST_SUITE_END()
