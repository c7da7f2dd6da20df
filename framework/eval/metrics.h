// Evaluation metrics. Pure functions over one split's predictions (each unit-tested against
// hand-computed values) and TaskEvaluator, which accumulates a task's predictions batch by batch
// so that results never depend on the evaluation batch size.
//
// Conventions
// - Rows whose label is missing (-1 for ids, NaN for values) are skipped by every metric.
// - accuracy / macro P,R,F1: the predicted class is the arg-max score; ties go to the lowest class.
//   Macro averages run over the classes present in the labels or the predictions.
// - auc: Mann–Whitney; a positive and a negative with equal scores count 1/2. NaN when a class is
//   absent. gauc: per-user AUC averaged with weights = the user's rows, over users with both classes.
// - logloss: mean negative log-likelihood from logits (log-softmax for classes, log-sigmoid for
//   binary), computed stably.
// - Ranking (next-item): the rank of the target is the number of OTHER candidates scoring >= the
//   target's score (a tied target is ranked below every item it ties with: pessimistic, so a
//   constant scorer earns nothing). Candidates: every item 1..items-1 (full, default; padding id 0
//   never ranks) or the target plus N sampled negatives (uniform or by training popularity, without
//   the target, seeded per example row, so independent of batch order and size). From rank r:
//   hr@K = [r < K], ndcg@K = [r < K] / log2(r + 2), mrr@K = [r < K] / (r + 1), recall@K = hr@K
//   (one target per row).
#pragma once

#include "framework/core/tensor.h"
#include "framework/data/examples.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace attnlab::eval {

// ---- pure metrics --------------------------------------------------------------------------
/// scores [N * classes] row-major.
double accuracy(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels);
struct Prf {
  double precision = 0, recall = 0, f1 = 0;
};
Prf macro_prf(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels);
/// Binary: scores [N] (any monotone score: logits), labels [N] in {0, 1} (NaN skipped).
double auc(std::span<const float> scores, std::span<const float> labels);
double gauc(std::span<const float> scores, std::span<const float> labels, std::span<const std::int64_t> users);
double logloss_classes(std::span<const float> logits, std::int64_t classes, std::span<const std::int64_t> labels);
double logloss_binary(std::span<const float> logits, std::span<const float> labels);
double rmse(std::span<const float> predictions, std::span<const float> targets);
double mae(std::span<const float> predictions, std::span<const float> targets);

/// Rank of candidate 0 (the target) among `scores` (candidate 0 plus others): #others >= scores[0].
std::int64_t target_rank(std::span<const float> scores);

/// Per-row streaming top-K over chunks of the catalogue: memory O(rows * K), never O(rows * items).
/// Ties are broken towards the lower item id.
class StreamingTopK {
 public:
  StreamingTopK(std::int64_t rows, std::int64_t k);
  /// scores [rows * n] of items first_item .. first_item + n - 1.
  void add_chunk(std::span<const float> scores, std::int64_t n, std::int64_t first_item);
  /// Row r's top items, best first.
  std::vector<std::pair<std::int64_t, float>> top(std::int64_t row) const;

 private:
  std::int64_t rows_, k_;
  std::vector<std::vector<std::pair<float, std::int64_t>>> heaps_;
};

// ---- per-task accumulation -------------------------------------------------------------------
struct RankingProtocol {
  std::string mode = "full";          ///< full | sampled
  std::int64_t negatives = 100;       ///< sampled: negatives per row
  std::string sampler = "uniform";    ///< sampled: uniform | popularity
  std::uint64_t seed = 0;             ///< sampled: negatives of row i come from Rng(seed).fork(i)
  std::string describe() const;       ///< e.g. "full ranking over 9066 items" (recorded with the results)
};

struct EvalOptions {
  std::vector<std::string> metrics{"accuracy", "logloss"};
  std::vector<std::int64_t> ks{5, 10, 20};
  RankingProtocol ranking;
};

/// Every metric name the spec accepts, and which apply to a label kind.
const std::vector<std::string>& metric_names();
bool applies(const std::string& metric, data::LabelKind kind);

class TaskEvaluator {
 public:
  /// item_counts: training frequency of each item id (popularity negatives); may be empty.
  TaskEvaluator(const data::LabelColumn& task, EvalOptions options, std::vector<float> item_counts = {});
  /// predictions: the head's output for the batch ([B, C] logits, [B] logits/values, [B, items]
  /// scores); labels: the batch's label tensor of this task; users: i64 [B] or undefined; rows: the
  /// batch's example indices (sampled negatives are seeded by them).
  void add(const core::Tensor& predictions, const core::Tensor& labels, const core::Tensor& users,
           std::span<const std::int64_t> rows);
  /// (name, value) for every requested metric that applies, e.g. ("hr@10", 0.41); ranking metrics
  /// expand over ks. Metrics over zero labelled rows are NaN.
  std::vector<std::pair<std::string, double>> finish() const;

 private:
  data::LabelKind kind_;
  std::int64_t classes_;
  EvalOptions options_;
  std::vector<float> item_counts_;
  std::vector<float> scores_;            // class/binary/value tasks: kept (N * width)
  std::int64_t width_ = 0;
  std::vector<std::int64_t> label_ids_;
  std::vector<float> label_values_;
  std::vector<std::int64_t> users_;
  std::vector<std::int64_t> ranks_;      // item tasks: only the target's rank per row
};

}  // namespace attnlab::eval
