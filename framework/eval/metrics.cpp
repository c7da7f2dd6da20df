#include "framework/eval/metrics.h"

#include "framework/core/rng.h"

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace attnlab::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Below this many score entries a batch is scanned on the calling thread: TBB's overhead would
// dominate. Every parallel loop writes per-row results only, so the split never changes a value.
constexpr std::int64_t kParallelMin = 1 << 15;

template <class F>
void for_rows(std::int64_t rows, std::int64_t work, F&& f) {
  if (work < kParallelMin || rows < 2) {
    for (std::int64_t r = 0; r < rows; ++r) f(r);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows), [&](const tbb::blocked_range<std::int64_t>& range) {
    for (std::int64_t r = range.begin(); r < range.end(); ++r) f(r);
  });
}

std::size_t idx(std::int64_t i) { return static_cast<std::size_t>(i); }

void check_class_inputs(const char* op, std::size_t scores, std::int64_t classes,
                        std::span<const std::int64_t> labels) {
  if (classes < 1 || scores != labels.size() * static_cast<std::size_t>(classes))
    throw ShapeError(
        op, fmt::format("scores of {} values do not fit {} labels x {} classes", scores, labels.size(), classes));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < -1 || labels[i] >= classes)
      throw IndexError(op, fmt::format("label {} of row {} not in [0, {}) (or -1: missing)", labels[i], i, classes));
}

void check_binary_labels(const char* op, std::size_t scores, std::span<const float> labels) {
  if (scores != labels.size()) throw ShapeError(op, fmt::format("{} scores for {} labels", scores, labels.size()));
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!std::isnan(labels[i]) && labels[i] != 0.f && labels[i] != 1.f)
      throw IndexError(op, fmt::format("label {} of row {} is not 0, 1 or NaN (missing)", labels[i], i));
}

// Arg-max with ties to the lowest class; -1 when a score is NaN (the row predicts nothing).
std::int64_t arg_max(const float* z, std::int64_t classes) {
  std::int64_t best = 0;
  for (std::int64_t c = 0; c < classes; ++c) {
    if (std::isnan(z[c])) return -1;
    if (z[c] > z[best]) best = c;
  }
  return best;
}

double class_nll(const float* z, std::int64_t classes, std::int64_t label) {
  float m = z[0];
  for (std::int64_t c = 1; c < classes; ++c) m = std::max(m, z[c]);
  double sum = 0;
  for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c]) - m);
  return static_cast<double>(m) + std::log(sum) - z[label];
}

double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double binary_nll(float z, float y) { return softplus(y == 1.f ? -static_cast<double>(z) : static_cast<double>(z)); }
bool binary_correct(float z, float y) { return !std::isnan(z) && ((z > 0.f) == (y == 1.f)); }

double accuracy_of(std::span<const std::int64_t> predicted, std::span<const std::int64_t> labels) {
  std::int64_t n = 0, right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    ++n;
    right += predicted[i] == labels[i];
  }
  return n ? static_cast<double>(right) / static_cast<double>(n) : kNaN;
}

Prf prf_of(std::span<const std::int64_t> predicted, std::span<const std::int64_t> labels, std::int64_t classes) {
  std::vector<std::int64_t> tp(idx(classes)), fp(idx(classes)), fn(idx(classes));
  std::vector<std::uint8_t> present(idx(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int64_t y = labels[i], p = predicted[i];
    if (y < 0) continue;
    present[idx(y)] = 1;
    if (p >= 0) present[idx(p)] = 1;
    if (p == y) {
      ++tp[idx(y)];
    } else {
      ++fn[idx(y)];
      if (p >= 0) ++fp[idx(p)];
    }
  }
  Prf out;
  std::int64_t counted = 0;
  for (std::int64_t c = 0; c < classes; ++c) {
    if (!present[idx(c)]) continue;
    ++counted;
    const auto t = static_cast<double>(tp[idx(c)]), f_p = static_cast<double>(fp[idx(c)]),
               f_n = static_cast<double>(fn[idx(c)]);
    out.precision += t + f_p > 0 ? t / (t + f_p) : 0.0;
    out.recall += t + f_n > 0 ? t / (t + f_n) : 0.0;
    out.f1 += 2 * t + f_p + f_n > 0 ? 2 * t / (2 * t + f_p + f_n) : 0.0;
  }
  if (counted == 0) return {kNaN, kNaN, kNaN};
  const auto k = static_cast<double>(counted);
  return {out.precision / k, out.recall / k, out.f1 / k};
}

// Twice the Mann–Whitney U of the positives over `order` (indices sorted by ascending score), exact.
// Returns {2U, positives, negatives}.
struct UCount {
  std::int64_t twice_u = 0, pos = 0, neg = 0;
};
UCount mann_whitney(std::span<const std::int64_t> order, std::span<const float> scores, std::span<const float> labels) {
  UCount u;
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i;
    std::int64_t pos = 0, neg = 0;
    const float s = scores[idx(order[i])];
    for (; j < order.size() && scores[idx(order[j])] == s; ++j) (labels[idx(order[j])] == 1.f ? pos : neg) += 1;
    u.twice_u += 2 * pos * u.neg + pos * neg;  // beats every negative below, half of those tied
    u.pos += pos;
    u.neg += neg;
    i = j;
  }
  return u;
}

double auc_of(const UCount& u) {
  if (u.pos == 0 || u.neg == 0) return kNaN;
  return static_cast<double>(u.twice_u) / (2.0 * static_cast<double>(u.pos) * static_cast<double>(u.neg));
}

// Labelled row indices; `nan_score` is set when one of them has a NaN score.
std::vector<std::int64_t> labelled_rows(std::span<const float> scores, std::span<const float> labels, bool& nan_score) {
  std::vector<std::int64_t> rows;
  nan_score = false;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) continue;
    rows.push_back(static_cast<std::int64_t>(i));
    nan_score = nan_score || std::isnan(scores[i]);
  }
  return rows;
}

double mean_over_ranks(std::span<const std::int64_t> ranks, std::int64_t k, double (*gain)(std::int64_t)) {
  if (k < 1) throw ShapeError("ranking metric", fmt::format("cutoff k = {} must be >= 1", k));
  if (ranks.empty()) return kNaN;
  double sum = 0;
  for (const std::int64_t r : ranks)
    if (r < k) sum += gain(r);
  return sum / static_cast<double>(ranks.size());
}

// Counts, over columns [0, n) of one row chunk, how many are not below t; then removes the
// target's own column and the padding column 0 when they lie in the chunk.
std::int64_t not_below(const float* s, std::int64_t n, float t) {
  std::int64_t below = 0;
  for (std::int64_t j = 0; j < n; ++j) below += s[j] < t;
  return n - below;
}

std::int64_t chunk_rank(const float* s, std::int64_t n, std::int64_t first, std::int64_t target, float t) {
  std::int64_t r = not_below(s, n, t);
  if (target >= first && target < first + n) --r;  // its own column is never "another" candidate
  if (first == 0 && n > 0 && !(s[0] < t)) --r;     // padding never ranks
  return r;
}

bool better(const std::pair<float, std::int64_t>& a, const std::pair<float, std::int64_t>& b) {
  const bool an = std::isnan(a.first), bn = std::isnan(b.first);
  if (an != bn) return bn;
  if (!an && a.first != b.first) return a.first > b.first;
  return a.second < b.second;
}

std::string shape_of(const core::Tensor& t) { return t.defined() ? t.shape().str() : std::string("undefined"); }

}  // namespace

// ---- pure metrics --------------------------------------------------------------------------

double accuracy(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels) {
  check_class_inputs("accuracy", scores.size(), classes, labels);
  std::vector<std::int64_t> predicted(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) predicted[i] = arg_max(scores.data() + i * idx(classes), classes);
  return accuracy_of(predicted, labels);
}

Prf macro_prf(std::span<const float> scores, std::int64_t classes, std::span<const std::int64_t> labels) {
  check_class_inputs("macro_prf", scores.size(), classes, labels);
  std::vector<std::int64_t> predicted(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) predicted[i] = arg_max(scores.data() + i * idx(classes), classes);
  return prf_of(predicted, labels, classes);
}

double logloss_classes(std::span<const float> logits, std::int64_t classes, std::span<const std::int64_t> labels) {
  check_class_inputs("logloss", logits.size(), classes, labels);
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    sum += class_nll(logits.data() + i * idx(classes), classes, labels[i]);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : kNaN;
}

double auc(std::span<const float> scores, std::span<const float> labels) {
  check_binary_labels("auc", scores.size(), labels);
  bool nan_score = false;
  std::vector<std::int64_t> order = labelled_rows(scores, labels, nan_score);
  if (nan_score) return kNaN;
  std::sort(order.begin(), order.end(),
            [&](std::int64_t a, std::int64_t b) { return scores[idx(a)] < scores[idx(b)]; });
  return auc_of(mann_whitney(order, scores, labels));
}

double gauc(std::span<const float> scores, std::span<const float> labels, std::span<const std::int64_t> users) {
  check_binary_labels("gauc", scores.size(), labels);
  if (users.size() != labels.size())
    throw ShapeError("gauc", fmt::format("{} users for {} labels", users.size(), labels.size()));
  bool nan_score = false;
  std::vector<std::int64_t> order = labelled_rows(scores, labels, nan_score);
  if (nan_score) return kNaN;
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    if (users[idx(a)] != users[idx(b)]) return users[idx(a)] < users[idx(b)];
    return scores[idx(a)] < scores[idx(b)];
  });
  double weighted = 0, weight = 0;
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i;
    while (j < order.size() && users[idx(order[j])] == users[idx(order[i])]) ++j;
    const UCount u = mann_whitney(std::span(order).subspan(i, j - i), scores, labels);
    if (u.pos > 0 && u.neg > 0) {
      const auto n = static_cast<double>(j - i);
      weighted += n * auc_of(u);
      weight += n;
    }
    i = j;
  }
  return weight > 0 ? weighted / weight : kNaN;
}

double logloss_binary(std::span<const float> logits, std::span<const float> labels) {
  check_binary_labels("logloss", logits.size(), labels);
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) continue;
    sum += binary_nll(logits[i], labels[i]);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : kNaN;
}

double accuracy_binary(std::span<const float> logits, std::span<const float> labels) {
  check_binary_labels("accuracy", logits.size(), labels);
  std::int64_t n = 0, right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) continue;
    ++n;
    right += binary_correct(logits[i], labels[i]);
  }
  return n ? static_cast<double>(right) / static_cast<double>(n) : kNaN;
}

Prf binary_prf(std::span<const float> logits, std::span<const float> labels) {
  check_binary_labels("precision", logits.size(), labels);
  std::int64_t tp = 0, predicted = 0, positive = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) continue;
    const bool pos = !std::isnan(logits[i]) && logits[i] > 0.f, truth = labels[i] == 1.f;
    predicted += pos;
    positive += truth;
    tp += pos && truth;
  }
  const double precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : kNaN;
  const double recall = positive ? static_cast<double>(tp) / static_cast<double>(positive) : kNaN;
  const double f1 = std::isnan(precision) || std::isnan(recall) ? kNaN
                    : precision + recall == 0.0                 ? 0.0
                                                                : 2 * precision * recall / (precision + recall);
  return {precision, recall, f1};
}

namespace {
template <class F>
double mean_error(const char* op, std::span<const float> predictions, std::span<const float> targets, F&& f) {
  if (predictions.size() != targets.size())
    throw ShapeError(op, fmt::format("{} predictions for {} targets", predictions.size(), targets.size()));
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (std::isnan(targets[i])) continue;
    sum += f(static_cast<double>(predictions[i]) - static_cast<double>(targets[i]));
    ++n;
  }
  return n ? sum / static_cast<double>(n) : kNaN;
}
}  // namespace

double rmse(std::span<const float> predictions, std::span<const float> targets) {
  return std::sqrt(mean_error("rmse", predictions, targets, [](double d) { return d * d; }));
}

double mae(std::span<const float> predictions, std::span<const float> targets) {
  return mean_error("mae", predictions, targets, [](double d) { return std::abs(d); });
}

// ---- ranking -------------------------------------------------------------------------------

std::int64_t target_rank(std::span<const float> scores) {
  if (scores.empty()) throw ShapeError("target_rank", "no candidates (candidate 0 must be the target)");
  return not_below(scores.data() + 1, std::ssize(scores) - 1, scores[0]);
}

std::int64_t full_rank(std::span<const float> row, std::int64_t target) {
  if (target < 1 || target >= std::ssize(row))
    throw IndexError("full_rank", fmt::format("target {} not in [1, {})", target, row.size()));
  return chunk_rank(row.data(), std::ssize(row), 0, target, row[idx(target)]);
}

double hit_rate(std::span<const std::int64_t> ranks, std::int64_t k) {
  return mean_over_ranks(ranks, k, [](std::int64_t) { return 1.0; });
}
double ndcg(std::span<const std::int64_t> ranks, std::int64_t k) {
  return mean_over_ranks(ranks, k, [](std::int64_t r) { return 1.0 / std::log2(static_cast<double>(r) + 2.0); });
}
double mrr(std::span<const std::int64_t> ranks, std::int64_t k) {
  return mean_over_ranks(ranks, k, [](std::int64_t r) { return 1.0 / (static_cast<double>(r) + 1.0); });
}

RankCounter::RankCounter(std::span<const std::int64_t> targets, std::span<const float> target_scores,
                         std::int64_t items)
    : targets_(targets.begin(), targets.end()), target_scores_(target_scores.begin(), target_scores.end()),
      items_(items), ranks_(targets.size(), 0) {
  if (target_scores.size() != targets.size())
    throw ShapeError("rank_counter",
                     fmt::format("{} target scores for {} targets", target_scores.size(), targets.size()));
  for (std::size_t i = 0; i < targets.size(); ++i)
    if (targets[i] < 1 || targets[i] >= items)
      throw IndexError("rank_counter", fmt::format("target {} of row {} not in [1, {})", targets[i], i, items));
}

void RankCounter::add_chunk(std::span<const float> scores, std::int64_t n, std::int64_t first_item) {
  const std::int64_t rows = std::ssize(targets_);
  if (n < 0 || first_item < 0 || first_item + n > items_ || std::ssize(scores) != rows * n)
    throw ShapeError("rank_counter",
                     fmt::format("chunk of {} values for {} rows x {} items at {} (catalogue of {} items)",
                                 scores.size(), rows, n, first_item, items_));
  for_rows(rows, rows * n, [&](std::int64_t r) {
    ranks_[idx(r)] += chunk_rank(scores.data() + r * n, n, first_item, targets_[idx(r)], target_scores_[idx(r)]);
  });
}

StreamingTopK::StreamingTopK(std::int64_t rows, std::int64_t k) : rows_(rows), k_(k) {
  if (rows < 0 || k < 1)
    throw ShapeError("streaming_topk", fmt::format("rows {} and k {}: need rows >= 0, k >= 1", rows, k));
  heap_.resize(idx(rows * k));
  size_.assign(idx(rows), 0);
}

void StreamingTopK::add_chunk(std::span<const float> scores, std::int64_t n, std::int64_t first_item) {
  if (n < 0 || first_item < 0 || std::ssize(scores) != rows_ * n)
    throw ShapeError("streaming_topk", fmt::format("chunk of {} values for {} rows x {} items at {}", scores.size(),
                                                   rows_, n, first_item));
  for_rows(rows_, rows_ * n, [&](std::int64_t r) {
    auto* heap = heap_.data() + r * k_;
    std::int64_t& size = size_[idx(r)];
    const float* s = scores.data() + r * n;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::pair<float, std::int64_t> cand{s[j], first_item + j};
      if (size < k_) {
        heap[size++] = cand;
        std::push_heap(heap, heap + size, better);  // worst on top
      } else if (better(cand, heap[0])) {
        std::pop_heap(heap, heap + size, better);
        heap[size - 1] = cand;
        std::push_heap(heap, heap + size, better);
      }
    }
  });
}

std::vector<std::pair<std::int64_t, float>> StreamingTopK::top(std::int64_t row) const {
  if (row < 0 || row >= rows_) throw IndexError("streaming_topk", fmt::format("row {} not in [0, {})", row, rows_));
  std::vector<std::pair<float, std::int64_t>> h(heap_.begin() + row * k_, heap_.begin() + row * k_ + size_[idx(row)]);
  std::sort(h.begin(), h.end(), better);
  std::vector<std::pair<std::int64_t, float>> out;
  out.reserve(h.size());
  for (const auto& [s, id] : h) out.emplace_back(id, s);
  return out;
}

// ---- ranking protocol ------------------------------------------------------------------------

bool RankingProtocol::is_full(std::int64_t items) const { return mode == "full" || negatives >= items - 2; }

std::string RankingProtocol::describe(std::int64_t items) const {
  const std::int64_t ranked = std::max<std::int64_t>(items - 1, 0);
  if (mode == "full") return fmt::format("full ranking over {} items", ranked);
  if (is_full(items))
    return fmt::format("full ranking over {} items ({} sampled negatives asked, only {} exist)", ranked, negatives,
                       std::max<std::int64_t>(items - 2, 0));
  return fmt::format("sampled ranking: {} {} negatives per target ({}{}), seed {}", negatives, sampler,
                     sampler == "uniform" ? "without replacement" : "with replacement, by training counts",
                     exclude_history ? ", none from the example's history" : "", seed);
}

void RankingProtocol::validate(const std::string& who) const {
  if (mode != "full" && mode != "sampled")
    throw Error(fmt::format("{}: ranking mode '{}' is not one of: full, sampled", who, mode));
  if (mode == "sampled" && sampler != "uniform" && sampler != "popularity")
    throw Error(fmt::format("{}: negative sampler '{}' is not one of: uniform, popularity", who, sampler));
  if (mode == "sampled" && negatives < 1)
    throw Error(fmt::format("{}: sampled ranking needs negatives >= 1, got {}", who, negatives));
}

NegativeSampler::NegativeSampler(const RankingProtocol& protocol, std::int64_t items,
                                 std::span<const float> item_counts)
    : protocol_(protocol), items_(items) {
  protocol_.validate("negative sampler");
  if (items < 2) throw ShapeError("negative sampler", fmt::format("an item vocabulary of {} ids has no items", items));
  if (protocol_.mode != "sampled" || protocol_.sampler != "popularity") return;
  if (std::ssize(item_counts) != items)
    throw data::DataError(fmt::format("negative sampler: popularity needs one count per item id ({}), got {}", items,
                                      item_counts.size()));
  cumulative_.assign(idx(items), 0.0);
  for (std::int64_t i = 1; i < items; ++i) {
    const float c = item_counts[idx(i)];
    if (!std::isfinite(c) || c < 0)
      throw data::DataError(fmt::format("negative sampler: count {} of item {} is not a finite count >= 0", c, i));
    cumulative_[idx(i)] = cumulative_[idx(i - 1)] + c;
    if (c > 0) {
      second_positive_ = last_positive_;
      last_positive_ = i;
    }
  }
  if (second_positive_ == 0)
    throw data::DataError(
        "negative sampler: popularity sampling needs at least two items with a positive training count");
}

void NegativeSampler::draw(std::int64_t row, std::int64_t target, std::vector<std::int64_t>& out,
                           std::span<const std::int64_t> exclude) const {
  if (target < 1 || target >= items_)
    throw IndexError("negative sampler", fmt::format("target {} not in [1, {})", target, items_));
  core::Rng rng = core::Rng(protocol_.seed).fork(static_cast<std::uint64_t>(row));
  out.clear();
  if (protocol_.sampler == "uniform") {
    // The ids no negative may be: the target and the excluded ones in [1, items), sorted, distinct.
    std::vector<std::int64_t> skip;
    skip.reserve(exclude.size() + 1);
    bool target_added = false;
    for (const std::int64_t e : exclude) {
      if (!target_added && target <= e) {
        if (target != e) skip.push_back(target);
        target_added = true;
      }
      if (e >= 1 && e < items_ && (skip.empty() || skip.back() != e)) skip.push_back(e);
    }
    if (!target_added) skip.push_back(target);
    const std::int64_t m = items_ - 1 - std::ssize(skip);  // possible negatives
    const std::int64_t n = std::min(protocol_.negatives, m);
    out.reserve(idx(n));
    // Floyd: a uniform n-subset of [0, m) in n draws; v is the v-th allowed id (skipping 0 and `skip`).
    std::unordered_set<std::int64_t> chosen;
    chosen.reserve(idx(n) * 2);
    for (std::int64_t j = m - n; j < m; ++j) {
      auto v = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(j + 1)));
      if (!chosen.insert(v).second) {
        v = j;
        chosen.insert(v);
      }
      std::int64_t id = v + 1;
      for (const std::int64_t s : skip) {  // ascending: each skipped id at or below moves id up by one
        if (s > id) break;
        ++id;
      }
      out.push_back(id);
    }
    return;
  }
  out.reserve(idx(protocol_.negatives));
  // Popularity: invert the cumulative counts with the target's mass cut out, so no rejection loop.
  const double before = cumulative_[idx(target - 1)];
  const double mass = cumulative_[idx(target)] - before;
  const double total = cumulative_.back() - mass;
  const std::int64_t fallback = last_positive_ == target ? second_positive_ : last_positive_;
  std::int64_t redraws = 0;
  for (std::int64_t j = 0; j < protocol_.negatives; ++j) {
    double u = rng.uniform_double() * total;
    if (u >= before) u += mass;
    auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    // Rounding can push u to the very end; the last positive non-target id owns that edge.
    std::int64_t id = it == cumulative_.end() ? fallback : static_cast<std::int64_t>(it - cumulative_.begin());
    if (!exclude.empty() && std::binary_search(exclude.begin(), exclude.end(), id) &&
        redraws < 64 * protocol_.negatives) {
      ++redraws;
      --j;
      continue;
    }
    out.push_back(id);
  }
}

// ---- per-task accumulation -------------------------------------------------------------------

const std::vector<Metric>& metric_table() {
  using data::LabelKind;
  const auto mean_loss = [](const MetricInputs& in, std::int64_t) {
    double sum = 0;
    for (const double l : in.row_loss) sum += l;
    return in.row_loss.empty() ? kNaN : sum / static_cast<double>(in.row_loss.size());
  };
  static const std::vector<Metric> table{
      {"accuracy", LabelKind::kClass, false, false, "share of rows whose arg-max class is the label",
       [](const MetricInputs& in, std::int64_t) { return accuracy_of(in.predicted, in.label_ids); }},
      {"accuracy", LabelKind::kBinary, false, false, "share of rows whose logit has the label's sign (threshold 0.5)",
       [](const MetricInputs& in, std::int64_t) { return accuracy_binary(in.outputs, in.label_values); }},
      {"macro_precision", LabelKind::kClass, false, false, "precision per class, averaged over the classes that occur",
       [](const MetricInputs& in, std::int64_t) { return prf_of(in.predicted, in.label_ids, in.classes).precision; }},
      {"macro_recall", LabelKind::kClass, false, false, "recall per class, averaged over the classes that occur",
       [](const MetricInputs& in, std::int64_t) { return prf_of(in.predicted, in.label_ids, in.classes).recall; }},
      {"macro_f1", LabelKind::kClass, false, false, "F1 per class, averaged over the classes that occur",
       [](const MetricInputs& in, std::int64_t) { return prf_of(in.predicted, in.label_ids, in.classes).f1; }},
      {"precision", LabelKind::kBinary, false, false, "precision of the positive class (threshold 0.5)",
       [](const MetricInputs& in, std::int64_t) { return binary_prf(in.outputs, in.label_values).precision; }},
      {"recall", LabelKind::kBinary, false, false, "recall of the positive class (threshold 0.5)",
       [](const MetricInputs& in, std::int64_t) { return binary_prf(in.outputs, in.label_values).recall; }},
      {"f1", LabelKind::kBinary, false, false, "F1 of the positive class (threshold 0.5)",
       [](const MetricInputs& in, std::int64_t) { return binary_prf(in.outputs, in.label_values).f1; }},
      {"auc", LabelKind::kBinary, false, false, "area under the ROC curve (ties count half)",
       [](const MetricInputs& in, std::int64_t) { return auc(in.outputs, in.label_values); }},
      {"gauc", LabelKind::kBinary, false, false,
       "AUC per user, weighted by the user's rows (users with one class skipped)",
       [](const MetricInputs& in, std::int64_t) { return gauc(in.outputs, in.label_values, in.users); }},
      {"logloss", LabelKind::kClass, true, false, "mean cross-entropy of the label under the softmax", mean_loss},
      {"logloss", LabelKind::kBinary, true, false, "mean binary cross-entropy of the label under the sigmoid",
       [](const MetricInputs& in, std::int64_t) { return logloss_binary(in.outputs, in.label_values); }},
      {"rmse", LabelKind::kValue, true, false, "root mean squared error",
       [](const MetricInputs& in, std::int64_t) { return rmse(in.outputs, in.label_values); }},
      {"mae", LabelKind::kValue, true, false, "mean absolute error",
       [](const MetricInputs& in, std::int64_t) { return mae(in.outputs, in.label_values); }},
      {"hr", LabelKind::kItem, false, true, "hit rate: share of rows whose target ranks within k",
       [](const MetricInputs& in, std::int64_t k) { return hit_rate(in.ranks, k); }},
      {"ndcg", LabelKind::kItem, false, true,
       "normalised discounted cumulative gain at k (one relevant item: 1/log2(rank+1))",
       [](const MetricInputs& in, std::int64_t k) { return ndcg(in.ranks, k); }},
      {"mrr", LabelKind::kItem, false, true, "mean reciprocal rank, 0 beyond k",
       [](const MetricInputs& in, std::int64_t k) { return mrr(in.ranks, k); }},
      {"recall", LabelKind::kItem, false, true, "recall at k (one target per row: the hit rate)",
       [](const MetricInputs& in, std::int64_t k) { return hit_rate(in.ranks, k); }},
  };
  return table;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& m : metric_table())
      if (std::find(out.begin(), out.end(), m.name) == out.end()) out.push_back(m.name);
    return out;
  }();
  return names;
}

const Metric* find_metric(std::string_view name, data::LabelKind kind) {
  for (const auto& m : metric_table())
    if (m.name == name && m.kind == kind) return &m;
  return nullptr;
}

bool applies(const std::string& metric, data::LabelKind kind) { return find_metric(metric, kind) != nullptr; }

bool lower_is_better(std::string_view figure) {
  std::string_view base =
      figure.substr(figure.find_last_of("/.") == std::string_view::npos ? 0 : figure.find_last_of("/.") + 1);
  base = base.substr(0, base.find('@'));
  if (base == "loss") return true;
  for (const auto& m : metric_table())
    if (m.name == base) return m.lower_is_better;
  return false;
}

TaskEvaluator::TaskEvaluator(const data::LabelColumn& task, EvalOptions options, std::vector<float> item_counts)
    : who_("eval " + task.task), kind_(task.kind), classes_(task.classes), options_(std::move(options)) {
  const auto& known = metric_names();
  for (const auto& m : options_.metrics) {
    if (std::find(known.begin(), known.end(), m) == known.end())
      throw Error(fmt::format("{}: unknown metric '{}'; known: {} (ranking metrics take their cutoffs from ks)", who_,
                              m, fmt::join(known, ", ")));
    want_users_ = want_users_ || (m == "gauc" && kind_ == data::LabelKind::kBinary);
  }
  for (const std::int64_t k : options_.ks)
    if (k < 1) throw Error(fmt::format("{}: ranking cutoff k = {} must be >= 1", who_, k));
  if (kind_ == data::LabelKind::kClass && classes_ < 1)
    throw ShapeError(who_, fmt::format("a class task needs classes >= 1, got {}", classes_));
  if (kind_ == data::LabelKind::kItem) {
    options_.ranking.validate(who_);
    if (classes_ < 2)
      throw ShapeError(who_, fmt::format("an item task needs an item vocabulary >= 2, got {}", classes_));
    if (!options_.ranking.is_full(classes_)) sampler_.emplace(options_.ranking, classes_, item_counts);
  }
}

void TaskEvaluator::add(const core::Tensor& predictions, const core::Tensor& labels, const core::Tensor& users,
                        std::span<const std::int64_t> rows, std::span<const std::int64_t> seen_offsets,
                        std::span<const std::int64_t> seen_items) {
  using data::LabelKind;
  const bool ids = kind_ == LabelKind::kClass || kind_ == LabelKind::kItem;
  const core::DType label_type = ids ? core::DType::i64 : core::DType::f32;
  if (!labels.defined() || labels.rank() != 1)
    throw ShapeError(who_, fmt::format("labels {} must be [B]", shape_of(labels)));
  if (labels.dtype() != label_type)
    throw DTypeError(
        who_, fmt::format("labels {} are {}, a {} task needs {}", labels.shape().str(), core::name_of(labels.dtype()),
                          ids ? "class/item" : "binary/value", core::name_of(label_type)));
  const std::int64_t B = labels.shape()[0];
  const std::int64_t width = (kind_ == LabelKind::kClass || kind_ == LabelKind::kItem) ? classes_ : 1;
  const bool fits = predictions.defined() &&
                    (width == 1 ? (predictions.shape() == core::Shape{B} || predictions.shape() == core::Shape{B, 1})
                                : predictions.shape() == core::Shape{B, width});
  if (!fits)
    throw ShapeError(who_, fmt::format("predictions {} do not fit labels [{}]: expected {}", shape_of(predictions), B,
                                       width == 1 ? fmt::format("[{}]", B) : fmt::format("[{}, {}]", B, width)));
  if (predictions.dtype() != core::DType::f32)
    throw DTypeError(who_, fmt::format("predictions {} are {}, expected f32", predictions.shape().str(),
                                       core::name_of(predictions.dtype())));
  if (std::ssize(rows) != B) throw ShapeError(who_, fmt::format("{} example rows for labels [{}]", rows.size(), B));
  if (wants_seen() && std::ssize(seen_offsets) != B + 1)
    throw ShapeError(
        who_, fmt::format("the ranking protocol excludes each row's history from its negatives, and the batch carries "
                          "{} seen-item offsets for {} rows (expected {})",
                          seen_offsets.size(), B, B + 1));
  if (want_users_) {
    if (!users.defined()) throw ShapeError(who_, "gauc needs user ids i64 [B], but the batch has none");
    if (users.dtype() != core::DType::i64 || users.shape() != core::Shape{B})
      throw ShapeError(
          who_, fmt::format("users {} {} must be i64 [{}]", users.shape().str(), core::name_of(users.dtype()), B));
  }
  const std::int64_t lo = kind_ == LabelKind::kItem ? 1 : 0;
  const float* z = predictions.f32();
  // Labelled rows of this batch (checked before anything is stored).
  std::vector<std::int64_t> keep;
  keep.reserve(idx(B));
  for (std::int64_t b = 0; b < B; ++b) {
    if (ids) {
      const std::int64_t y = labels.i64()[b];
      if (y == -1) continue;
      if (y < lo || y >= classes_)
        throw IndexError(
            who_, fmt::format("label {} of batch row {} (example {}) not in [{}, {}) (or -1: missing); labels {}", y, b,
                              rows[idx(b)], lo, classes_, labels.shape().str()));
    } else {
      const float y = labels.f32()[b];
      if (std::isnan(y)) continue;
      if (kind_ == LabelKind::kBinary && y != 0.f && y != 1.f)
        throw IndexError(
            who_, fmt::format("label {} of batch row {} (example {}) is not 0, 1 or NaN (missing); labels {}", y, b,
                              rows[idx(b)], labels.shape().str()));
    }
    keep.push_back(b);
  }
  const std::int64_t n = std::ssize(keep);
  const std::size_t at = rows_.size();
  for (const std::int64_t b : keep) rows_.push_back(rows[idx(b)]);
  switch (kind_) {
    case LabelKind::kClass: {
      label_ids_.resize(at + idx(n));
      predicted_.resize(at + idx(n));
      row_loss_.resize(at + idx(n));
      for_rows(n, n * classes_, [&](std::int64_t i) {
        const std::int64_t b = keep[idx(i)], y = labels.i64()[b];
        const float* zb = z + b * classes_;
        label_ids_[at + idx(i)] = y;
        predicted_[at + idx(i)] = arg_max(zb, classes_);
        row_loss_[at + idx(i)] = class_nll(zb, classes_, y);
      });
      break;
    }
    case LabelKind::kBinary:
    case LabelKind::kValue:
      for (const std::int64_t b : keep) {
        outputs_.push_back(z[b]);
        label_values_.push_back(labels.f32()[b]);
        if (want_users_) users_.push_back(users.i64()[b]);
      }
      break;
    case LabelKind::kItem: {
      ranks_.resize(at + idx(n));
      if (!sampler_) {
        for_rows(n, n * classes_, [&](std::int64_t i) {
          const std::int64_t b = keep[idx(i)];
          ranks_[at + idx(i)] = full_rank(std::span(z + b * classes_, idx(classes_)), labels.i64()[b]);
        });
      } else {
        for_rows(n, n * (options_.ranking.negatives + 1) * 8, [&](std::int64_t i) {
          const std::int64_t b = keep[idx(i)], y = labels.i64()[b];
          const float* zb = z + b * classes_;
          std::vector<std::int64_t> negatives;
          const auto exclude = wants_seen() ? seen_items.subspan(idx(seen_offsets[idx(b)]),
                                                                 idx(seen_offsets[idx(b) + 1] - seen_offsets[idx(b)]))
                                            : std::span<const std::int64_t>{};
          sampler_->draw(rows[idx(b)], y, negatives, exclude);
          std::int64_t r = 0;
          for (const std::int64_t j : negatives) r += !(zb[j] < zb[y]);
          ranks_[at + idx(i)] = r;
        });
      }
      break;
    }
  }
}

std::vector<std::pair<std::string, double>> TaskEvaluator::finish() const {
  // Rows in ascending example index (stable: duplicates keep their arrival order), so sums never
  // depend on how the split was batched or ordered.
  std::vector<std::size_t> order(rows_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows_[a] < rows_[b]; });
  auto gather = [&](const auto& v) {
    std::remove_cvref_t<decltype(v)> out;
    if (v.empty()) return out;
    out.reserve(order.size());
    for (const std::size_t i : order) out.push_back(v[i]);
    return out;
  };
  const auto label_ids = gather(label_ids_), predicted = gather(predicted_), users = gather(users_),
             ranks = gather(ranks_);
  const auto row_loss = gather(row_loss_);
  const auto outputs = gather(outputs_), label_values = gather(label_values_);
  const MetricInputs in{.classes = classes_,
                        .label_ids = label_ids,
                        .predicted = predicted,
                        .row_loss = row_loss,
                        .outputs = outputs,
                        .label_values = label_values,
                        .users = users,
                        .ranks = ranks};
  std::vector<std::pair<std::string, double>> out;
  for (const auto& name : options_.metrics) {
    const Metric* m = find_metric(name, kind_);
    if (!m) continue;  // a metric of another kind of task
    if (!m->ranked) {
      out.emplace_back(name, m->compute(in, 0));
      continue;
    }
    for (const std::int64_t k : options_.ks) out.emplace_back(fmt::format("{}@{}", name, k), m->compute(in, k));
  }
  return out;
}

void TaskEvaluator::reset() {
  for (auto* v : {&rows_, &label_ids_, &predicted_, &users_, &ranks_}) v->clear();
  row_loss_.clear();
  outputs_.clear();
  label_values_.clear();
}

std::int64_t TaskEvaluator::stored_bytes() const {
  auto bytes = [](const auto& v) { return static_cast<std::int64_t>(v.capacity() * sizeof(v[0])); };
  return bytes(rows_) + bytes(label_ids_) + bytes(predicted_) + bytes(row_loss_) + bytes(outputs_) +
         bytes(label_values_) + bytes(users_) + bytes(ranks_);
}

std::string TaskEvaluator::protocol() const {
  return kind_ == data::LabelKind::kItem ? options_.ranking.describe(classes_) : std::string();
}

}  // namespace attnlab::eval
