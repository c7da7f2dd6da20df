#include "framework/data/sequence_batch.h"

#include "framework/core/rng.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace attnlab::data {

using core::DType;
using core::Shape;
using core::Tensor;

SequenceGroups group_sequences(const Examples& ex, std::span<const std::int64_t> rows, const std::string& who) {
  if (ex.step_dim > 0)
    throw DataError(fmt::format("{}: the examples are dense steps (images), not token sequences: they cannot be trained as sequences",
                                who));
  for (std::size_t k = 0; k < rows.size(); ++k)
    if (rows[k] < 0 || rows[k] >= ex.size())
      throw DataError(fmt::format("{}: rows[{}] = {} is outside the {} examples", who, k, rows[k], ex.size()));
  // The sequence of a row: Examples::sequence, or the row alone. Sort by (sequence, end, row);
  // groups then appear in the order of their first row.
  const auto at = [](const std::vector<std::int64_t>& v, std::int64_t i) { return v[static_cast<std::size_t>(i)]; };
  const auto seq = [&](std::int64_t i) { return ex.sequence.empty() ? i : at(ex.sequence, i); };
  std::vector<std::int64_t> order(rows.begin(), rows.end());
  std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    if (seq(a) != seq(b)) return seq(a) < seq(b);
    if (at(ex.end, a) != at(ex.end, b)) return at(ex.end, a) < at(ex.end, b);
    return a < b;
  });
  struct Span {
    std::int64_t first_row, from, to;  // [from, to) into order
  };
  std::vector<Span> spans;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const bool same = k > 0 && seq(order[k]) == seq(order[k - 1]);
    if (same && at(ex.end, order[k]) == at(ex.end, order[k - 1]))
      throw DataError(fmt::format("{}: examples {} and {} of sequence {} end at the same step, so they are not prefixes of one "
                                  "sequence (pad_truncate with keep: first?)", who, order[k - 1], order[k], seq(order[k])));
    if (!same) spans.push_back({order[k], static_cast<std::int64_t>(k), static_cast<std::int64_t>(k)});
    auto& s = spans.back();
    s.first_row = std::min(s.first_row, order[k]);
    s.to = static_cast<std::int64_t>(k) + 1;
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.first_row < b.first_row; });
  SequenceGroups g;
  g.rows.reserve(order.size());
  for (const auto& s : spans) {
    g.rows.insert(g.rows.end(), order.begin() + s.from, order.begin() + s.to);
    g.offsets.push_back(static_cast<std::int64_t>(g.rows.size()));
  }
  return g;
}

namespace {

void check_which(const SequenceGroups& groups, std::span<const std::int64_t> which, const char* op) {
  if (which.empty()) throw DataError(fmt::format("{}: no groups", op));
  for (std::size_t k = 0; k < which.size(); ++k)
    if (which[k] < 0 || which[k] >= groups.size())
      throw DataError(fmt::format("{}: which[{}] = {} is outside the {} sequences", op, k, which[k], groups.size()));
}

/// A batch of each group's longest example (ids, mask, users, targets, side features) with the
/// labels left for the caller; rows = the longest examples.
Batch longest_examples(const Examples& ex, const SequenceGroups& groups, std::span<const std::int64_t> which, std::int64_t seq_len) {
  std::vector<std::int64_t> rows;
  rows.reserve(which.size());
  for (const auto g : which) rows.push_back(groups.longest(g));
  Batch b = make_batch(ex, rows, seq_len);
  b.labels.clear();
  return b;
}

Tensor minus_ones(std::int64_t batch, std::int64_t t) {
  Tensor out = Tensor::empty(Shape{batch, t}, DType::i64);
  std::fill_n(out.i64(), batch * t, std::int64_t{-1});
  return out;
}

Tensor missing_labels(const LabelColumn& l, std::int64_t batch, std::int64_t t) {
  const bool ids = l.kind == LabelKind::kClass || l.kind == LabelKind::kItem;
  if (!ids) return Tensor::full(Shape{batch, t}, std::numeric_limits<float>::quiet_NaN());
  return minus_ones(batch, t);
}

}  // namespace

Batch make_sequence_batch(const Examples& ex, const SequenceGroups& groups, std::span<const std::int64_t> which,
                          const BatchOptions& options) {
  if (options.append_mask) throw DataError("make_sequence_batch: append_mask is for evaluation batches (make_batch)");
  check_which(groups, which, "make_sequence_batch");
  const std::int64_t batch = static_cast<std::int64_t>(which.size()), t = options.seq_len;
  Batch b = longest_examples(ex, groups, which, t);
  for (const auto& l : ex.labels) {
    Tensor out = missing_labels(l, batch, t);
    const bool ids = l.kind == LabelKind::kClass || l.kind == LabelKind::kItem;
    for (std::int64_t r = 0; r < batch; ++r) {
      const std::int64_t g = which[static_cast<std::size_t>(r)];
      const std::int64_t last_end = ex.end[static_cast<std::size_t>(groups.longest(g))];
      for (const auto row : groups.group(g)) {
        // The example ending at `end` is predicted from the step at end - 1, which sits at padded
        // position t - 1 - (last_end - end); positions cut off by truncation keep no label.
        const std::int64_t pos = t - 1 - (last_end - ex.end[static_cast<std::size_t>(row)]);
        if (pos < 0 || ex.end[static_cast<std::size_t>(row)] == ex.begin[static_cast<std::size_t>(row)]) continue;
        if (ids) out.i64()[r * t + pos] = l.ids[static_cast<std::size_t>(row)];
        else out.f32()[r * t + pos] = l.values[static_cast<std::size_t>(row)];
      }
    }
    b.labels.push_back(std::move(out));
  }
  if (options.seen) {
    std::vector<std::int64_t> targets;
    for (std::int64_t r = 0; r < batch; ++r) {
      const std::int64_t g = which[static_cast<std::size_t>(r)], last = groups.longest(g);
      targets.clear();
      for (const auto& l : ex.labels)
        if (l.kind == LabelKind::kItem)
          for (const auto row : groups.group(g)) targets.push_back(l.ids[static_cast<std::size_t>(row)]);
      const auto from = static_cast<std::size_t>(ex.begin[static_cast<std::size_t>(last)]);
      append_seen(b.seen_offsets, b.seen_items,
                  std::span<const std::int64_t>(ex.tokens).subspan(from, static_cast<std::size_t>(ex.end[static_cast<std::size_t>(last)]) - from),
                  targets);
    }
  }
  return b;
}

Batch make_cloze_batch(const Examples& ex, const SequenceGroups& groups, std::span<const std::int64_t> which,
                       const BatchOptions& options, const ClozeOptions& cloze) {
  if (options.append_mask) throw DataError("make_cloze_batch: append_mask is for evaluation batches (make_batch)");
  if (!(cloze.mask_prob > 0 && cloze.mask_prob <= 1))
    throw DataError(fmt::format("make_cloze_batch: mask_prob {} must be in (0, 1]", cloze.mask_prob));
  check_which(groups, which, "make_cloze_batch");
  const LabelColumn* items = nullptr;
  for (const auto& l : ex.labels)
    if (l.kind == LabelKind::kItem) items = &l;
  if (!items) throw DataError("make_cloze_batch: the examples have no item labels (kItem) to mask");
  const std::int64_t batch = static_cast<std::int64_t>(which.size()), t = options.seq_len;
  Batch b;
  b.mask = Tensor::zeros(Shape{batch, t});
  b.masked = Tensor::zeros(Shape{batch, t});
  b.ids = Tensor::zeros(Shape{batch, t}, DType::i64);
  Tensor labels = minus_ones(batch, t);
  std::vector<std::int64_t> steps;
  for (std::int64_t r = 0; r < batch; ++r) {
    const std::int64_t g = which[static_cast<std::size_t>(r)], last = groups.longest(g);
    const auto li = static_cast<std::size_t>(last);
    const std::int64_t end = ex.end[li];  // the sequence is tokens[begin, end] (the target included)
    if (end >= static_cast<std::int64_t>(ex.tokens.size()) || ex.tokens[static_cast<std::size_t>(end)] != items->ids[li])
      throw DataError(fmt::format("make_cloze_batch: example {}'s label {} is not the token after its history: cloze training needs "
                                  "next-item sequences (the interactions dataset)",
                                  last, items->ids[li]));
    b.rows.push_back(last);
    const std::int64_t len = std::min(end + 1 - ex.begin[li], t), from = end + 1 - len, pad = t - len;
    std::copy(ex.tokens.begin() + from, ex.tokens.begin() + end + 1, b.ids.i64() + r * t + pad);
    std::fill(b.mask.f32() + r * t + pad, b.mask.f32() + (r + 1) * t, 1.0f);
    // round(len * p) distinct steps (at least one), by a partial Fisher-Yates shuffle.
    const auto count = std::clamp<std::int64_t>(std::llround(static_cast<double>(len) * cloze.mask_prob), 1, len);
    steps.resize(static_cast<std::size_t>(len));
    std::iota(steps.begin(), steps.end(), pad);
    core::Rng rng = core::Rng(cloze.seed).fork(static_cast<std::uint64_t>(g));
    for (std::int64_t k = 0; k < count; ++k) {
      const auto j = k + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(len - k)));
      std::swap(steps[static_cast<std::size_t>(k)], steps[static_cast<std::size_t>(j)]);
      const std::int64_t at = r * t + steps[static_cast<std::size_t>(k)];
      labels.i64()[at] = b.ids.i64()[at];
      b.ids.i64()[at] = 0;
      b.masked.f32()[at] = 1.0f;
    }
    if (options.seen) {
      const auto tokens = std::span<const std::int64_t>(ex.tokens).subspan(static_cast<std::size_t>(ex.begin[li]),
                                                                           static_cast<std::size_t>(end + 1 - ex.begin[li]));
      append_seen(b.seen_offsets, b.seen_items, tokens, {});
    }
  }
  auto side = longest_examples(ex, groups, which, t);
  b.users = side.users;
  b.targets = side.targets;
  b.categorical = side.categorical;
  b.dense = side.dense;
  for (const auto& l : ex.labels) b.labels.push_back(&l == items || l.kind == LabelKind::kItem ? labels : missing_labels(l, batch, t));
  return b;
}

}  // namespace attnlab::data
