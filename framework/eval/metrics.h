// Evaluation metrics. Pure functions over one split's predictions (each unit-tested against
// hand-computed values) and TaskEvaluator, which accumulates a task's predictions batch by batch
// so that results never depend on the evaluation batch size, the batch order or the thread count.
//
// Conventions
// - Rows whose label is missing (-1 for ids, NaN for values) are skipped by every metric. A metric
//   over zero labelled rows is NaN.
// - accuracy / macro P,R,F1: the predicted class is the arg-max score; ties go to the lowest class.
//   A row with a NaN score predicts no class (it counts as wrong). Binary accuracy predicts 1 iff
//   the logit is > 0 (probability > 1/2); a NaN logit counts as wrong.
//   Macro averages run over the classes present in the labels or the predictions, in class order:
//   per class P = tp/(tp+fp), R = tp/(tp+fn), F1 = 2tp/(2tp+fp+fn), each 0 when its denominator is 0
//   (scikit-learn's zero_division=0); macro F1 is the mean of the per-class F1 (not F1 of the means).
// - auc: Mann–Whitney U / (P·N); a positive and a negative with equal scores count 1/2. Computed by
//   sorting, O(N log N), exactly (U is an integer count of half pairs). NaN when a class is absent
//   or any labelled score is NaN (a diverged model gets no AUC, rather than an arbitrary one).
//   gauc: per-user AUC averaged with weights = the user's labelled rows, over users with both
//   classes (users with one class are skipped); NaN when no user has both.
// - logloss: mean negative log-likelihood from logits, computed stably: log-softmax with the max
//   subtracted for classes, softplus(±z) = max(±z, 0) + log1p(exp(-|z|)) for binary (labels 0/1).
// - rmse, mae: over rows with a non-NaN target; a NaN prediction makes the result NaN.
// - Ranking (next-item): the rank of the target is the number of OTHER candidates whose score is
//   not below the target's, i.e. #{j : !(s_j < s_target)}. A tied target is ranked below every item
//   it ties with (pessimistic, so a constant scorer earns nothing: a target tied with exactly m
//   items has rank m), and NaN is pessimistic too (a NaN candidate beats the target; a NaN target
//   is ranked last). Candidates: every item 1..items-1 (full, default; padding id 0 never ranks) or
//   the target plus N sampled negatives (RankingProtocol). From rank r (0 = best):
//   hr@K = [r < K], ndcg@K = [r < K] / log2(r + 2), mrr@K = [r < K] / (r + 1), recall@K = hr@K
//   (one target per row), each averaged over the labelled rows.
// - Determinism: every per-row quantity (predicted class, row loss, rank) depends on that row only,
//   and TaskEvaluator::finish() sums rows in ascending example index, so results are bitwise equal
//   for any batch size, batch order and TBB thread count.
//
// Errors: sizes that do not fit throw attnlab::ShapeError, wrong element types DTypeError, label
// ids out of range IndexError; the op named is the function ("auc") or "eval <task>" for
// TaskEvaluator, and the message gives the shapes. Unknown metric names or protocol fields throw
// attnlab::Error; unusable popularity counts throw data::DataError.
#pragma once

#include "framework/core/tensor.h"
#include "framework/data/examples.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnlab::eval {

// ---- pure metrics --------------------------------------------------------------------------
// Class metrics: scores [N * classes] row-major (logits or probabilities), labels [N] in
// [0, classes) or -1 (missing). Throws ShapeError when scores.size() != N * classes or classes < 1,
// IndexError for a label outside [-1, classes).
double accuracy(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels);
struct Prf {
  double precision = 0, recall = 0, f1 = 0;
};
Prf macro_prf(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels);
double logloss_classes(std::span<const float> logits, std::int64_t classes, std::span<const std::int64_t> labels);

// Binary metrics: scores/logits [N] (auc and gauc accept any monotone score), labels [N] in {0, 1}
// or NaN (missing); users [N] (any i64 ids). Throws ShapeError on size mismatch, IndexError for a
// label that is neither 0, 1 nor NaN.
double auc(std::span<const float> scores, std::span<const float> labels);
double gauc(std::span<const float> scores, std::span<const float> labels, std::span<const std::int64_t> users);
double logloss_binary(std::span<const float> logits, std::span<const float> labels);
double accuracy_binary(std::span<const float> logits, std::span<const float> labels);
/// Precision, recall and F1 of the positive class, predicting positive where the logit is > 0
/// (probability > 0.5); a NaN logit predicts nothing. NaN when undefined (no positive prediction
/// for precision, no positive label for recall, either for F1).
Prf binary_prf(std::span<const float> logits, std::span<const float> labels);

// Regression: predictions [N], targets [N] (NaN = missing). Throws ShapeError on size mismatch.
double rmse(std::span<const float> predictions, std::span<const float> targets);
double mae(std::span<const float> predictions, std::span<const float> targets);

// ---- ranking -------------------------------------------------------------------------------
/// Rank of candidate 0 (the target) among `scores` (candidate 0 plus others): #{j >= 1 : !(s_j < s_0)}.
/// Throws ShapeError on an empty span.
std::int64_t target_rank(std::span<const float> scores);
/// Full-catalogue rank of item `target` in one row of scores [items] over items 1..items-1
/// (column 0 = padding is never a candidate, column `target` holds the target's score).
/// Throws IndexError unless 1 <= target < items.
std::int64_t full_rank(std::span<const float> row, std::int64_t target);

/// Metrics from 0-based ranks (one per labelled row), at cutoff k >= 1; NaN for no ranks.
double hit_rate(std::span<const std::int64_t> ranks, std::int64_t k);
double ndcg(std::span<const std::int64_t> ranks, std::int64_t k);
double mrr(std::span<const std::int64_t> ranks, std::int64_t k);

/// Full ranking fed in column chunks, for heads that score the catalogue piece by piece: the
/// target scores are known up front (e.g. query · target embedding), and each chunk only updates
/// one counter per row, so memory is O(rows), never O(rows * items). Chunks may come in any order
/// and must together cover each item once; the rank equals full_rank() on the assembled row.
class RankCounter {
 public:
  /// targets [rows] in [1, items) (IndexError otherwise), target_scores [rows] (ShapeError on size).
  RankCounter(std::span<const std::int64_t> targets, std::span<const float> target_scores, std::int64_t items);
  /// scores [rows * n], row-major, of items first_item .. first_item + n - 1 (ShapeError unless
  /// the size fits and the chunk lies inside [0, items)). Rows are scanned in parallel (TBB) when
  /// rows * n is large; counts are integers, so the result does not depend on the thread count.
  void add_chunk(std::span<const float> scores, std::int64_t n, std::int64_t first_item);
  /// Rank of each row's target so far (final once every item was added).
  const std::vector<std::int64_t>& ranks() const { return ranks_; }

 private:
  std::vector<std::int64_t> targets_;
  std::vector<float> target_scores_;
  std::int64_t items_;
  std::vector<std::int64_t> ranks_;
};

/// Per-row streaming top-K over chunks of the catalogue: memory O(rows * K), never O(rows * items).
/// Order: higher score first; equal scores go to the lower item id; NaN scores rank below all
/// others. Chunks may arrive in any order and any size: the result equals a full sort (by that
/// order) of everything added, truncated to K.
class StreamingTopK {
 public:
  /// Throws ShapeError unless rows >= 0 and k >= 1.
  StreamingTopK(std::int64_t rows, std::int64_t k);
  /// scores [rows * n] of items first_item .. first_item + n - 1 (ShapeError unless the size is
  /// rows * n and first_item >= 0). Rows are processed in parallel when rows * n is large.
  void add_chunk(std::span<const float> scores, std::int64_t n, std::int64_t first_item);
  /// Row r's top (item, score) pairs, best first; fewer than K when fewer items were added.
  /// Throws IndexError for a row outside [0, rows).
  std::vector<std::pair<std::int64_t, float>> top(std::int64_t row) const;

 private:
  std::int64_t rows_, k_;
  std::vector<std::pair<float, std::int64_t>> heap_;  // [rows * k]: row r's heap, worst on top
  std::vector<std::int64_t> size_;                    // [rows]: entries in row r's heap
};

// ---- ranking protocol ------------------------------------------------------------------------
/// How next-item targets are ranked. `items` below is the item vocabulary (LabelColumn::classes):
/// ids 1..items-1 are items, 0 is padding; a row's possible negatives are the items-2 ids that are
/// neither padding nor its target.
struct RankingProtocol {
  std::string mode = "full";        ///< full | sampled
  std::int64_t negatives = 100;     ///< sampled: negatives per row (>= 1)
  std::string sampler = "uniform";  ///< sampled: uniform | popularity
  bool exclude_history = false;     ///< sampled: negatives avoid the items of the row's history (its seen items)
  std::uint64_t seed = 0;           ///< sampled: negatives of example row i come from Rng(seed).fork(i)
  /// True when the ranking is effectively full: mode full, or negatives >= items - 2 (every
  /// possible negative would be drawn, so all are used).
  bool is_full(std::int64_t items) const;
  /// Recorded with the results, e.g. "full ranking over 9066 items" (items - 1 of them: padding
  /// excluded) or "sampled ranking: 100 uniform negatives per target (without replacement), seed 7".
  std::string describe(std::int64_t items) const;
  /// Throws attnlab::Error naming `who` for an unknown mode or sampler or negatives < 1.
  void validate(const std::string& who) const;
};

/// Draws the negatives of one example row under a sampled protocol.
/// - uniform: N distinct ids from 1..items-1 without the target (Floyd's algorithm: without
///   replacement, O(N) per row).
/// - popularity: N ids drawn WITH replacement (a repeated id counts once per draw in the rank),
///   P(id) ∝ item_counts[id] over ids 1..items-1 without the target; an id with count 0 is never
///   drawn; item_counts[0] is ignored.
/// With `exclude` (sorted ids: the row's history), uniform draws come from the ids that are neither
/// padding, the target nor excluded (all of them when fewer remain than N), and popularity draws
/// are redrawn while they hit an excluded id (up to 64 times each).
/// The draw for (row, target) uses Rng(seed).fork(row) only, so it does not depend on batching.
class NegativeSampler {
 public:
  /// item_counts [items] (popularity only; ignored for uniform). Throws attnlab::Error for a bad
  /// protocol, data::DataError unless item_counts has `items` finite non-negative entries of which
  /// at least two ids in 1..items-1 are positive (so every target leaves some mass).
  NegativeSampler(const RankingProtocol& protocol, std::int64_t items, std::span<const float> item_counts = {});
  /// Replaces `out` by the negatives of example `row` with target `target` (1 <= target < items).
  void draw(std::int64_t row, std::int64_t target, std::vector<std::int64_t>& out,
            std::span<const std::int64_t> exclude = {}) const;

 private:
  RankingProtocol protocol_;
  std::int64_t items_;
  std::vector<double> cumulative_;                        // popularity: cumulative_[i] = sum of counts of ids 1..i
  std::int64_t last_positive_ = 0, second_positive_ = 0;  // the two highest ids with count > 0
};

// ---- per-task accumulation -------------------------------------------------------------------
struct EvalOptions {
  std::vector<std::string> metrics{"accuracy", "logloss"};
  std::vector<std::int64_t> ks{5, 10, 20};
  RankingProtocol ranking{};
};

/// What a task evaluator holds when it computes its figures: per labelled row, in ascending
/// example index (TaskEvaluator::finish gathers them so).
struct MetricInputs {
  std::int64_t classes = 0;
  std::span<const std::int64_t> label_ids{};  ///< kClass
  std::span<const std::int64_t> predicted{};  ///< kClass: arg-max class (-1: a NaN row)
  std::span<const double> row_loss{};         ///< kClass: -log softmax(z)[label]
  std::span<const float> outputs{};           ///< kBinary: logit; kValue: prediction
  std::span<const float> label_values{};      ///< kBinary / kValue
  std::span<const std::int64_t> users{};      ///< kBinary, for gauc
  std::span<const std::int64_t> ranks{};      ///< kItem: the target's rank (0 = best)
};

/// One metric, in one place: its name, the label kinds it applies to, which way is better, whether
/// it takes ranking cutoffs (reported as "hr@10"), what it is, and how it is computed (k: the
/// cutoff of a ranked metric, 0 otherwise). A metric applies to several kinds through one entry
/// per kind (accuracy and logloss: classes and binary labels).
struct Metric {
  std::string name;
  data::LabelKind kind;
  bool lower_is_better = false;
  bool ranked = false;
  std::string summary;
  std::function<double(const MetricInputs&, std::int64_t k)> compute;
};

/// The metric table: every metric the spec accepts (eval.metrics), `attnlab plugins metric` lists,
/// the trainer selects on (eval.select) and the index file records the direction of.
const std::vector<Metric>& metric_table();
/// Every metric name the spec accepts, in table order without repeats.
const std::vector<std::string>& metric_names();
/// The table's entry for (name, kind), or nullptr when the metric does not apply to the kind.
const Metric* find_metric(std::string_view name, data::LabelKind kind);
bool applies(const std::string& metric, data::LabelKind kind);
/// Whether a reported figure is better lower: "loss", "logloss", "test/click.rmse", "hr@10"... (the
/// part after the last '/' and '.', without "@k"; "loss" is every task loss). Unknown: false.
bool lower_is_better(std::string_view figure);

/// Accumulates one task's evaluation over a split. Per labelled row it keeps O(1) numbers (the
/// predicted class and row loss, the logit, the prediction, or for item tasks only the target's
/// rank), never a [B, items] score matrix: stored_bytes() is O(rows), independent of items.
class TaskEvaluator {
 public:
  /// task: kind, classes and name (its ids/values are not read). item_counts: training frequency
  /// of each item id (popularity negatives), [task.classes]; may be empty otherwise.
  /// Throws attnlab::Error for an unknown metric name, a k < 1 or a bad protocol, ShapeError when
  /// classes does not suit the kind (kClass >= 1, kItem >= 2), data::DataError for unusable counts.
  TaskEvaluator(const data::LabelColumn& task, EvalOptions options, std::vector<float> item_counts = {});
  /// predictions: the head's output for the batch: kClass f32 [B, classes] logits; kBinary f32 [B]
  /// (or [B, 1]) logits; kValue f32 [B] (or [B, 1]); kItem f32 [B, classes] scores.
  /// labels: this task's label tensor, i64 [B] (kClass/kItem) or f32 [B] (kBinary/kValue).
  /// users: i64 [B], or undefined (then gauc cannot be computed: ShapeError if gauc is requested).
  /// rows: the batch's example indices, B of them (results are summed in row order; sampled
  /// negatives are seeded by them). seen_offsets / seen_items: per row, the sorted items its
  /// sampled negatives avoid (data::Batch::seen_*), required by a protocol with exclude_history
  /// (ShapeError when missing). Checks everything before storing anything, so a throwing add()
  /// leaves the evaluator unchanged.
  void add(const core::Tensor& predictions, const core::Tensor& labels, const core::Tensor& users,
           std::span<const std::int64_t> rows, std::span<const std::int64_t> seen_offsets = {},
           std::span<const std::int64_t> seen_items = {});
  /// True when add() needs the rows' seen items (a sampled item task that excludes the history).
  bool wants_seen() const { return sampler_.has_value() && options_.ranking.exclude_history; }
  /// (name, value) for every requested metric that applies, in the requested order, e.g.
  /// ("hr@10", 0.41); ranking metrics expand over ks. Metrics over zero labelled rows are NaN.
  std::vector<std::pair<std::string, double>> finish() const;
  /// Forgets every row (a new pass over the split).
  void reset();
  std::int64_t rows() const { return static_cast<std::int64_t>(rows_.size()); }  ///< labelled rows so far
  /// Bytes of the per-row storage (vector capacities), for memory checks.
  std::int64_t stored_bytes() const;
  /// kItem: RankingProtocol::describe for this task; empty for other kinds.
  std::string protocol() const;

 private:
  std::string who_;  // "eval <task>"
  data::LabelKind kind_;
  std::int64_t classes_;
  EvalOptions options_;
  bool want_users_ = false;
  std::vector<std::int64_t> rows_;          // example index of each labelled row
  std::vector<std::int64_t> label_ids_;     // kClass
  std::vector<std::int64_t> predicted_;     // kClass: arg-max class, -1 for a NaN row
  std::vector<double> row_loss_;            // kClass: -log softmax(z)[label]
  std::vector<float> outputs_;              // kBinary: logit; kValue: prediction
  std::vector<float> label_values_;         // kBinary / kValue
  std::vector<std::int64_t> users_;         // kBinary with gauc
  std::vector<std::int64_t> ranks_;         // kItem: only the target's rank per row
  std::optional<NegativeSampler> sampler_;  // kItem under a sampled protocol that is not full
};

}  // namespace attnlab::eval
