#include "framework/data/pipeline.h"

#include "framework/core/suggest.h"

#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace attnlab::data {

namespace {

/// Without a step that caps the length every history would be padded to the longest: how the
/// lengths spread, so that batches are padded to their own length or a cap can be chosen (a review
/// set's one 765-token text made every batch 765 steps long).
/// A class that valid or test examples carry but no training example does is scored as if a model
/// could predict it. In a separate test file (`test_file`) that is an error naming the labels and
/// their counts: the file's labels do not match the training file's. A rare class a random split
/// left out of training is a warning (validate and the sweep print it).
void check_classes_are_trained(const Examples& ex, const Splits& splits, const std::string& test_file,
                               const std::string& who, DataReport& report) {
  for (const auto& l : ex.labels) {
    if (l.kind != LabelKind::kClass || l.classes < 1) continue;
    // Examples per class among `row_sets`.
    auto count = [&](std::initializer_list<const std::vector<std::int64_t>*> row_sets) {
      std::vector<std::int64_t> n(static_cast<std::size_t>(l.classes), 0);
      for (const auto* rows : row_sets)
        for (const auto r : *rows)
          if (const auto y = l.ids[static_cast<std::size_t>(r)]; y >= 0 && y < l.classes)
            ++n[static_cast<std::size_t>(y)];
      return n;
    };
    // "'label' (n examples)" for the classes training never has but `elsewhere` does.
    const std::vector<std::int64_t> train = count({&splits.train});
    auto untrained = [&](const std::vector<std::int64_t>& elsewhere) {
      std::vector<std::string> out;
      for (std::size_t c = 0; c < train.size(); ++c)
        if (train[c] == 0 && elsewhere[c] > 0)
          out.push_back(fmt::format("'{}' ({} example{})",
                                    c < l.class_names.size() ? l.class_names[c] : std::to_string(c), elsewhere[c],
                                    elsewhere[c] == 1 ? "" : "s"));
      return out;
    };
    const std::vector<std::string> unseen = untrained(count({&splits.valid, &splits.test}));
    if (!test_file.empty()) {
      const std::vector<std::string> only_test = untrained(count({&splits.test}));
      if (!only_test.empty())
        throw DataError(fmt::format(
            "{}: task '{}': the test file {} has label{} {} that the training data never has: no model can predict "
            "{}, and test scores would count {} as plain misses; fix the labels or drop those rows from the test file",
            who, l.task, test_file, only_test.size() == 1 ? "" : "s", core::join_names(only_test),
            only_test.size() == 1 ? "it" : "them", only_test.size() == 1 ? "it" : "them"));
    }
    if (!unseen.empty())
      report.warn(
          fmt::format("{}: task '{}': label{} {} appear{} in the validation or test split but never in "
                      "training, so no model can learn {} and scores there are not what they seem; drop those rows or "
                      "split differently",
                      who, l.task, unseen.size() == 1 ? "" : "s", core::join_names(unseen),
                      unseen.size() == 1 ? "s" : "", unseen.size() == 1 ? "it" : "them"));
  }
}

void describe_uncapped_lengths(const Examples& ex, const Splits& splits, PreparedData& out) {
  if (ex.step_dim > 0 || splits.train.empty()) return;
  std::vector<std::int64_t> lengths;
  lengths.reserve(splits.train.size());
  for (const auto i : splits.train) lengths.push_back(ex.length(i));
  std::sort(lengths.begin(), lengths.end());
  const auto at = [&](double q) {
    return lengths[std::min(lengths.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lengths.size())))];
  };
  double mean = 0;
  for (const auto l : lengths) mean += static_cast<double>(l);
  mean /= static_cast<double>(lengths.size());
  out.uncapped_lengths = fmt::format("median {}, p90 {}, p99 {}, mean {:.1f}", at(0.5), at(0.9), at(0.99), mean);
  out.p99_length = at(0.99);
  out.wasteful = out.seq_len >= 32 && mean <= 0.5 * static_cast<double>(out.seq_len);
}

}  // namespace

namespace {

std::string step_name(std::size_t i, const std::string& type) { return fmt::format("preprocess[{}] ({})", i, type); }

// Runs f, re-labelling a DataError of step i: its own "preprocess <type>: " prefix becomes
// "preprocess[i] (<type>): ", which tells apart two steps of one type.
template <class F>
void as_step(std::size_t i, const std::string& type, F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    std::string m = e.what();
    const std::string own = "preprocess " + type + ": ";
    if (m.starts_with(own)) m.erase(0, own.size());
    throw DataError(fmt::format("{}: {}", step_name(i, type), m));
  }
}

void check_splits(const Splits& s, std::int64_t n, const std::string& who) {
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(n), 0);
  const std::pair<const char*, const std::vector<std::int64_t>*> lists[] = {
      {"train", &s.train}, {"valid", &s.valid}, {"test", &s.test}};
  for (const auto& [name, list] : lists)
    for (std::size_t k = 0; k < list->size(); ++k) {
      const std::int64_t i = (*list)[k];
      if (i < 0 || i >= n)
        throw DataError(fmt::format("{}: splits.{}[{}] = {} is outside the {} examples", who, name, k, i, n));
      if (seen[static_cast<std::size_t>(i)]++)
        throw DataError(fmt::format("{}: example {} is in splits.{} and in an earlier split (or twice)", who, i, name));
    }
}

std::vector<float> count_items(const Examples& ex, const Splits& s) {
  std::int64_t size = ex.vocab;
  const LabelColumn* item = nullptr;
  for (const auto& l : ex.labels)
    if (l.kind == LabelKind::kItem && !item) item = &l;
  if (item) size = std::max(size, item->classes);
  std::vector<float> counts(static_cast<std::size_t>(size), 0.0f);
  if (size == 0) return counts;
  auto add = [&counts](std::int64_t id) {
    if (id >= 1 && id < static_cast<std::int64_t>(counts.size())) counts[static_cast<std::size_t>(id)] += 1.0f;
  };
  if (item || !ex.targets.empty()) {
    for (auto i : s.train) add(item ? item->ids[static_cast<std::size_t>(i)] : ex.targets[static_cast<std::size_t>(i)]);
    return counts;
  }
  if (ex.step_dim > 0) return counts;
  // Histories: the union of the training ranges, so that the n prefixes of a sequence count each
  // of its tokens once (and cost O(n log n), not O(n^2)).
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  for (auto i : s.train)
    ranges.emplace_back(ex.begin[static_cast<std::size_t>(i)], ex.end[static_cast<std::size_t>(i)]);
  std::sort(ranges.begin(), ranges.end());
  std::int64_t covered = 0;  // token positions below this are counted
  for (const auto& [b, e] : ranges) {
    for (std::int64_t p = std::max(b, covered); p < e; ++p) add(ex.tokens[static_cast<std::size_t>(p)]);
    covered = std::max(covered, e);
  }
  return counts;
}

}  // namespace

PreparedData prepare_data(const config::PluginSpec<Dataset>& dataset,
                          const std::vector<config::PluginSpec<Preprocess>>& steps, core::Rng& rng,
                          const std::string& base_dir) {
  const std::string who = fmt::format("dataset '{}'", dataset.type);
  std::vector<std::unique_ptr<Preprocess>> made;
  std::size_t first_example_step = steps.size();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    as_step(i, steps[i].type, [&] { made.push_back(registry::create(steps[i], Preprocess::Context{.rng = &rng})); });
    const bool rows = made.back()->stage() == Preprocess::Stage::kRows;
    if (rows && first_example_step < i)
      throw DataError(fmt::format("{}: a row step cannot follow example steps ({} comes earlier); list row steps first",
                                  step_name(i, steps[i].type),
                                  step_name(first_example_step, steps[first_example_step].type)));
    if (!rows) first_example_step = std::min(first_example_step, i);
  }

  PreparedData out;
  auto source = registry::create(dataset, Dataset::Context{.rng = &rng, .base_dir = base_dir});
  Table table = source->load(out.report);
  for (std::size_t i = 0; i < first_example_step; ++i) {
    if (table.columns.empty())
      throw DataError(fmt::format(
          "{}: {} has no table (it generates or reads its examples directly); row steps need a table-backed dataset",
          step_name(i, steps[i].type), who));
    as_step(i, steps[i].type, [&] { made[i]->apply_rows(table, out.report); });
  }

  Built built = source->build(std::move(table), out.report);
  Examples& ex = built.examples;
  ex.validate(who);
  check_splits(built.splits, ex.size(), who);
  if (built.splits.train.empty())
    throw DataError(fmt::format("{}: the training split is empty after preprocessing ({} examples; valid {}, test {})",
                                who, ex.size(), built.splits.valid.size(), built.splits.test.size()));

  std::int64_t seq_len = 0;
  for (std::size_t i = first_example_step; i < steps.size(); ++i) {
    as_step(i, steps[i].type, [&] { made[i]->apply_examples(ex, built.splits, out.report); });
    if (auto f = made[i]->fitted(); !f.empty())
      out.fitted.emplace_back(fmt::format("preprocess[{}].{}", i, steps[i].type), std::move(f));
    if (made[i]->max_len() > 0) seq_len = made[i]->max_len();
  }
  if (first_example_step < steps.size()) ex.validate("after preprocessing");
  check_classes_are_trained(ex, built.splits, built.test_file, who, out.report);

  std::int64_t longest = 0;
  for (std::int64_t i = 0; i < ex.size(); ++i) longest = std::max(longest, ex.length(i));
  const std::int64_t capped_by_step = seq_len;
  if (seq_len == 0) {
    if (longest > kMaxUnboundedSeqLen)
      throw DataError(
          fmt::format("{}: the longest history has {} steps (> {}); add a pad_truncate step to bound it, "
                      "e.g. preprocess: [{{type: pad_truncate, max_len: 200}}]",
                      who, longest, kMaxUnboundedSeqLen));
    seq_len = std::max<std::int64_t>(longest, 1);
  }

  out.item_counts = count_items(ex, built.splits);
  out.report.lines.push_back(
      fmt::format("data: {} examples (train {}, valid {}, test {}), seq_len {}, longest history {}, vocab {}; {}",
                  ex.size(), built.splits.train.size(), built.splits.valid.size(), built.splits.test.size(), seq_len,
                  longest, ex.vocab, built.protocol));
  out.examples = std::move(built.examples);
  out.splits = std::move(built.splits);
  out.seq_len = seq_len;
  if (capped_by_step == 0) describe_uncapped_lengths(out.examples, out.splits, out);
  out.protocol = std::move(built.protocol);
  return out;
}

}  // namespace attnlab::data
