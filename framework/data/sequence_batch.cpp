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
    throw DataError(fmt::format(
        "{}: the examples are dense steps (images), not token sequences: they cannot be trained as sequences", who));
  for (std::size_t k = 0; k < rows.size(); ++k)
    if (rows[k] < 0 || rows[k] >= ex.size())
      throw DataError(fmt::format("{}: rows[{}] = {} is outside the {} examples", who, k, rows[k], ex.size()));
  // The sequence of a row: where it starts (Examples::sequence_begin), or the row alone (-1 - row).
  // Sort by (sequence, end, row); groups then appear in the order of their first row.
  const auto at = [](const std::vector<std::int64_t>& v, std::int64_t i) { return v[static_cast<std::size_t>(i)]; };
  const auto seq = [&](std::int64_t i) { return ex.sequence_begin.empty() ? -1 - i : at(ex.sequence_begin, i); };
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
      throw DataError(
          fmt::format("{}: examples {} and {} of one sequence end at the same step, so they are not prefixes of one "
                      "sequence (pad_truncate with keep: first?)",
                      who, order[k - 1], order[k]));
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

/// The padded position where example `row` of window w is predicted: the step before its target,
/// t - 1 - (end of the window's last example - end of row); negative when truncation cut it off.
/// -1 for an example with an empty history (nothing to predict from).
std::int64_t position_of(const Examples& ex, std::int64_t row, std::int64_t last_row, std::int64_t t) {
  const auto r = static_cast<std::size_t>(row);
  if (ex.end[r] == ex.begin[r]) return -1;
  return t - 1 - (ex.end[static_cast<std::size_t>(last_row)] - ex.end[r]);
}

void check_windows(const SequenceGroups& groups, std::span<const SequenceWindow> windows, const char* op) {
  if (windows.empty()) throw DataError(fmt::format("{}: no windows", op));
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const auto& w = windows[k];
    if (w.group < 0 || w.group >= groups.size() || w.first < 0 || w.first > w.last ||
        w.last >= static_cast<std::int64_t>(groups.group(w.group).size()))
      throw DataError(fmt::format("{}: window {} (group {}, examples {}..{}) is outside the {} sequences", op, k,
                                  w.group, w.first, w.last, groups.size()));
  }
}

}  // namespace

std::vector<SequenceWindow> sequence_windows(const SequenceGroups& groups, std::int64_t stride) {
  if (stride < 0) throw DataError(fmt::format("sequence windows: stride {} must be >= 0", stride));
  std::vector<SequenceWindow> out;
  for (std::int64_t g = 0; g < groups.size(); ++g) {
    const auto n = static_cast<std::int64_t>(groups.group(g).size());
    if (stride == 0) {
      out.push_back({g, 0, n - 1});
      continue;
    }
    for (std::int64_t last = n - 1; last >= 0; last -= stride)
      out.push_back({g, std::max<std::int64_t>(0, last - stride + 1), last});
  }
  return out;
}

std::int64_t labelled_examples(const Examples& ex, const SequenceGroups& groups,
                               std::span<const SequenceWindow> windows, std::int64_t seq_len) {
  std::int64_t n = 0;
  for (const auto& w : windows) {
    const auto rows = groups.group(w.group);
    for (std::int64_t i = w.first; i <= w.last; ++i)
      n += position_of(ex, rows[static_cast<std::size_t>(i)], rows[static_cast<std::size_t>(w.last)], seq_len) >= 0;
  }
  return n;
}

Batch make_sequence_batch(const Examples& ex, const SequenceGroups& groups, std::span<const SequenceWindow> windows,
                          const BatchOptions& options) {
  if (options.append_mask) throw DataError("make_sequence_batch: append_mask is for evaluation batches (make_batch)");
  check_windows(groups, windows, "make_sequence_batch");
  const std::int64_t batch = static_cast<std::int64_t>(windows.size()), t = options.seq_len;
  std::vector<std::int64_t> last_rows;
  for (const auto& w : windows) last_rows.push_back(groups.group(w.group)[static_cast<std::size_t>(w.last)]);
  Batch b = make_batch(ex, last_rows, t);  // the window's history, users, targets, side features
  b.labels.clear();
  for (const auto& l : ex.labels) {
    Tensor out = missing_labels(l, batch, t);
    const bool ids = l.kind == LabelKind::kClass || l.kind == LabelKind::kItem;
    for (std::int64_t r = 0; r < batch; ++r) {
      const auto& w = windows[static_cast<std::size_t>(r)];
      const auto rows = groups.group(w.group);
      for (std::int64_t i = w.first; i <= w.last; ++i) {
        const std::int64_t row = rows[static_cast<std::size_t>(i)];
        const std::int64_t pos = position_of(ex, row, last_rows[static_cast<std::size_t>(r)], t);
        if (pos < 0) continue;
        if (ids)
          out.i64()[r * t + pos] = l.ids[static_cast<std::size_t>(row)];
        else
          out.f32()[r * t + pos] = l.values[static_cast<std::size_t>(row)];
      }
    }
    b.labels.push_back(std::move(out));
  }
  if (options.seen) {
    std::vector<std::int64_t> targets;
    for (std::int64_t r = 0; r < batch; ++r) {
      const auto& w = windows[static_cast<std::size_t>(r)];
      targets.clear();
      for (const auto& l : ex.labels)
        if (l.kind == LabelKind::kItem)
          for (const auto row : groups.group(w.group)) targets.push_back(l.ids[static_cast<std::size_t>(row)]);
      append_seen(b.seen_offsets, b.seen_items, sequence_of(ex, groups.longest(w.group)), targets);
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
    if (end >= static_cast<std::int64_t>(ex.tokens.size()) ||
        ex.tokens[static_cast<std::size_t>(end)] != items->ids[li])
      throw DataError(fmt::format(
          "make_cloze_batch: example {}'s label {} is not the token after its history: cloze training needs "
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
    if (options.seen)
      append_seen(b.seen_offsets, b.seen_items, sequence_of(ex, last),
                  std::span<const std::int64_t>(&items->ids[li], 1));
  }
  std::vector<std::int64_t> longest;
  for (const auto g : which) longest.push_back(groups.longest(g));
  const Batch side = make_batch(ex, longest, t);
  b.users = side.users;
  b.targets = side.targets;
  b.categorical = side.categorical;
  b.dense = side.dense;
  for (const auto& l : ex.labels)
    b.labels.push_back(&l == items || l.kind == LabelKind::kItem ? labels : missing_labels(l, batch, t));
  return b;
}

}  // namespace attnlab::data
