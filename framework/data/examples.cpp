#include "framework/data/examples.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <set>

namespace attnlab::data {

const char* name_of(LabelKind kind) {
  switch (kind) {
    case LabelKind::kClass:
      return "class";
    case LabelKind::kBinary:
      return "binary";
    case LabelKind::kValue:
      return "value";
    case LabelKind::kItem:
      return "item";
  }
  return "unknown";
}

const LabelColumn& Examples::label(const std::string& task) const {
  std::string tasks;
  for (const auto& l : labels) {
    if (l.task == task) return l;
    tasks += (tasks.empty() ? "" : ", ") + l.task;
  }
  throw DataError(fmt::format("examples: no task '{}'; tasks: {}", task, tasks.empty() ? "(none)" : tasks));
}

namespace {

using I64 = std::int64_t;

// The first failure of one check, with the field, index and value, as one DataError.
struct Checker {
  const std::string& who;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw DataError(fmt::format("{}: examples.{}: {}", who, field, what));
  }
  void size(const std::string& field, std::size_t got, std::size_t want, const std::string& of) const {
    if (got != want) fail(field, fmt::format("has {} entries, expected {} ({})", got, want, of));
  }
  void size_or_empty(const std::string& field, std::size_t got, std::size_t n) const {
    if (got != 0 && got != n) fail(field, fmt::format("has {} entries, expected 0 or one per example ({})", got, n));
  }
  // Every value in [lo, hi).
  template <class T>
  void range(const std::string& field, const std::vector<T>& v, I64 lo, I64 hi, const std::string& bound) const {
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i] < lo || v[i] >= hi) fail(fmt::format("{}[{}]", field, i), fmt::format("{} is outside {}", v[i], bound));
  }
};

}  // namespace

void Examples::validate(const std::string& who) const {
  const Checker c{who};
  const std::size_t n = begin.size();
  if (vocab < 0) c.fail("vocab", fmt::format("{} is negative", vocab));
  if (step_dim < 0) c.fail("step_dim", fmt::format("{} is negative", step_dim));
  if (num_users < 0) c.fail("num_users", fmt::format("{} is negative", num_users));
  c.size("end", end.size(), n, "one per example, like begin");

  // Token positions: ids, or rows of dense step features.
  I64 positions = static_cast<I64>(tokens.size());
  if (step_dim > 0) {
    if (step_values.size() % static_cast<std::size_t>(step_dim) != 0)
      c.fail("step_values", fmt::format("has {} values, not a multiple of step_dim {}", step_values.size(), step_dim));
    positions = static_cast<I64>(step_values.size()) / step_dim;
    if (!tokens.empty() && static_cast<I64>(tokens.size()) != positions)
      c.fail("tokens", fmt::format("has {} entries, expected 0 or one per dense step ({})", tokens.size(), positions));
  } else {
    if (!step_values.empty()) c.fail("step_values", fmt::format("has {} values but step_dim is 0", step_values.size()));
    c.range("tokens", tokens, 0, vocab, fmt::format("[0, vocab {})", vocab));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (begin[i] < 0 || begin[i] > end[i] || end[i] > positions)
      c.fail(fmt::format("begin/end[{}]", i),
             fmt::format("[{}, {}) is not a range within the {} token positions", begin[i], end[i], positions));
  }

  c.size_or_empty("users", users.size(), n);
  c.range("users", users, 0, num_users, fmt::format("[0, num_users {})", num_users));
  c.size_or_empty("targets", targets.size(), n);
  c.range("targets", targets, 0, vocab, fmt::format("[0, vocab {})", vocab));
  c.size_or_empty("times", times.size(), n);
  c.size_or_empty("sequence_begin", sequence_begin.size(), n);
  if (sequence_begin.size() == begin.size())
    for (std::size_t i = 0; i < begin.size(); ++i)
      if (sequence_begin[i] < 0 || sequence_begin[i] > begin[i])
        c.fail(fmt::format("sequence_begin[{}]", i),
               fmt::format("{} is outside [0, begin {}]", sequence_begin[i], begin[i]));

  if (!token_names.empty())
    c.size("token_names", token_names.size(), static_cast<std::size_t>(vocab), "one per token id (vocab)");

  const std::size_t f = categorical_names.size();
  c.size("categorical_cardinality", categorical_cardinality.size(), f, "one per categorical feature");
  c.size("categorical", categorical.size(), n * f, fmt::format("{} examples x {} features", n, f));
  for (std::size_t j = 0; j < f; ++j)
    if (categorical_cardinality[j] < 1)
      c.fail(fmt::format("categorical_cardinality[{}]", j),
             fmt::format("{} ({}) must be >= 1", categorical_cardinality[j], categorical_names[j]));
  for (std::size_t k = 0; k < categorical.size(); ++k) {
    const std::size_t j = k % f;
    if (categorical[k] < 0 || categorical[k] >= categorical_cardinality[j])
      c.fail(fmt::format("categorical[{}]", k),
             fmt::format("{} (example {}, feature {}) is outside [0, {})", categorical[k], k / f, categorical_names[j],
                         categorical_cardinality[j]));
  }
  c.size("dense", dense.size(), n * dense_names.size(),
         fmt::format("{} examples x {} features", n, dense_names.size()));

  std::set<std::string> tasks;
  for (std::size_t t = 0; t < labels.size(); ++t) {
    const auto& l = labels[t];
    const std::string field = fmt::format("labels[{}] ({})", t, l.task);
    if (l.task.empty()) c.fail(fmt::format("labels[{}]", t), "has no task name");
    if (!tasks.insert(l.task).second) c.fail(field, "repeats a task name");
    if (l.kind == LabelKind::kClass || l.kind == LabelKind::kItem) {
      if (l.classes < 1) c.fail(field + ".classes", fmt::format("{} must be >= 1", l.classes));
      c.size(field + ".ids", l.ids.size(), n, fmt::format("one per example, a {} label", name_of(l.kind)));
      const I64 lo = l.kind == LabelKind::kClass ? 0 : 1;
      for (std::size_t i = 0; i < n; ++i)
        if (l.ids[i] != -1 && (l.ids[i] < lo || l.ids[i] >= l.classes))
          c.fail(fmt::format("{}.ids[{}]", field, i),
                 fmt::format("{} is outside [{}, classes {}) (-1 = missing)", l.ids[i], lo, l.classes));
      if (!l.class_names.empty())
        c.size(field + ".class_names", l.class_names.size(), static_cast<std::size_t>(l.classes), "one per class");
    } else {
      c.size(field + ".values", l.values.size(), n, fmt::format("one per example, a {} label", name_of(l.kind)));
      for (std::size_t i = 0; i < n; ++i) {
        const float v = l.values[i];
        const bool ok = std::isnan(v) || (l.kind == LabelKind::kBinary ? (v == 0.0f || v == 1.0f) : std::isfinite(v));
        if (!ok)
          c.fail(fmt::format("{}.values[{}]", field, i),
                 fmt::format("{} is not {} (NaN = missing)", v,
                             l.kind == LabelKind::kBinary ? "0 or 1" : "a finite number"));
      }
    }
  }

  if (truth_offsets.empty()) {
    if (!truth.empty()) c.fail("truth", fmt::format("has {} entries but truth_offsets is empty", truth.size()));
    return;
  }
  c.size("truth_offsets", truth_offsets.size(), n + 1, "one per example plus one");
  if (truth_offsets[0] != 0) c.fail("truth_offsets[0]", fmt::format("{} must be 0", truth_offsets[0]));
  for (std::size_t i = 0; i < n; ++i)
    if (truth_offsets[i + 1] < truth_offsets[i])
      c.fail(fmt::format("truth_offsets[{}]", i + 1),
             fmt::format("{} is below truth_offsets[{}] = {}", truth_offsets[i + 1], i, truth_offsets[i]));
  if (truth_offsets[n] != static_cast<I64>(truth.size()))
    c.fail(fmt::format("truth_offsets[{}]", n),
           fmt::format("{} differs from the {} truth entries", truth_offsets[n], truth.size()));
  for (std::size_t i = 0; i < n; ++i)
    for (I64 k = truth_offsets[i]; k < truth_offsets[i + 1]; ++k) {
      const I64 p = truth[static_cast<std::size_t>(k)];
      if (p < 0 || p >= end[i] - begin[i])
        c.fail(fmt::format("truth[{}]", k),
               fmt::format("{} (example {}) is outside its history [0, {})", p, i, end[i] - begin[i]));
    }
}

}  // namespace attnlab::data
