#include "plugins/dataset/tabular/tabular.h"

#include "framework/core/suggest.h"
#include "framework/data/reader.h"
#include "framework/data/splits.h"
#include "framework/data/text_file.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace attnlab::plugins {

namespace {

constexpr const char* kWho = "dataset tabular";

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::optional<double> as_number(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The distinct values in a stable order: numerically when every value is a number ("2" < "10").
std::vector<std::string> sorted_distinct(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  bool numbers = true;
  for (const auto& x : v) numbers = numbers && as_number(x).has_value();
  if (numbers)
    std::stable_sort(v.begin(), v.end(),
                     [](const std::string& a, const std::string& b) { return *as_number(a) < *as_number(b); });
  return v;
}

}  // namespace

std::string TabularDataset::row_file(const data::Table& table, std::int64_t row) const {
  return !table.part.empty() && table.part[static_cast<std::size_t>(row)] == 1 ? test_path_ : path_;
}

double TabularDataset::impute_value(const data::Column& col, const std::vector<std::int64_t>& train) const {
  if (c_.impute != "mean") return 0.0;
  double sum = 0;
  std::int64_t count = 0;
  for (const auto r : train)
    if (const double x = col.num[static_cast<std::size_t>(r)]; !std::isnan(x)) sum += x, ++count;
  if (count == 0)
    throw data::DataError(
        fmt::format("{}: impute: mean: numeric feature '{}' has no value in the training split", kWho, col.name));
  return sum / static_cast<double>(count);
}

TabularDataset::TabularDataset(const TabularConfig& c, const Context& ctx)
    : c_(c), path_(data::existing_file(c.path, ctx.base_dir, "path")),
      test_path_(c.test_path.empty() ? "" : data::existing_file(c.test_path, ctx.base_dir, "test_path")),
      seed_(c.seed ? static_cast<std::uint64_t>(*c.seed) : (ctx.rng ? ctx.rng->fork(0x7ab1e).next_u64() : 0)) {
  if (c_.tasks.empty()) throw data::DataError(fmt::format("{}: no tasks: give at least one label column", kWho));
  if (c_.test_path.empty() && c_.train + c_.valid > 1.0 + 1e-12)
    throw data::DataError(fmt::format("{}: train {} + valid {} exceed 1", kWho, c_.train, c_.valid));
  // Every column has one role: a label that is also a feature would leak into the inputs.
  std::vector<std::pair<std::string, std::string>> used;  // (column, role)
  auto use = [&used](const std::string& col, const std::string& role) {
    for (const auto& [c2, r2] : used)
      if (c2 == col)
        throw data::DataError(fmt::format("{}: column '{}' is used twice: as {} and as {}", kWho, col, r2, role));
    used.emplace_back(col, role);
  };
  for (const auto& f : c_.categorical) use(f, "a categorical feature");
  for (const auto& f : c_.numeric) use(f, "a numeric feature");
  std::vector<std::string> task_names;
  for (const auto& t : c_.tasks) {
    if (contains(task_names, t.name)) throw data::DataError(fmt::format("{}: task '{}' is listed twice", kWho, t.name));
    task_names.push_back(t.name);
    use(t.column, fmt::format("the label of task '{}'", t.name));
    if (t.kind == "binary" && t.positive.empty())
      throw data::DataError(fmt::format("{}: task '{}' (binary) needs `positive`: the values meaning 1", kWho, t.name));
  }
  data::quote_from(c_.quote, kWho);
  data::on_error_from(c_.on_error, kWho);
}

data::Table TabularDataset::load(data::DataReport& report) {
  data::ReadOptions o;
  o.delimiter = c_.delimiter;
  o.header = c_.header;
  o.names = c_.names;
  o.quote = data::quote_from(c_.quote, kWho);
  o.comment = c_.comment;
  o.missing = c_.missing;
  o.on_error = data::on_error_from(c_.on_error, kWho);
  o.keep = c_.categorical;
  o.keep.insert(o.keep.end(), c_.numeric.begin(), c_.numeric.end());
  o.numeric = c_.numeric;
  for (const auto& t : c_.tasks) {
    o.keep.push_back(t.column);
    if (t.kind == "value") o.numeric.push_back(t.column);
  }
  try {
    o.path = path_;
    data::Table train = data::read_table(o, report);
    if (test_path_.empty()) return train;
    o.path = test_path_;
    return data::stack_parts(std::move(train), data::read_table(o, report));
  } catch (const data::DataError& e) {
    throw data::DataError(fmt::format("{}: {}", kWho, e.what()));
  }
}

data::Built TabularDataset::build(data::Table table, data::DataReport& report) {
  const std::int64_t n = table.rows();
  if (n == 0)
    throw data::DataError(
        fmt::format("{}: no examples: {} has no rows left after reading and row steps", kWho, table.source));
  data::Built b;
  // Splits first: the categorical codes are learnt from the training rows only.
  if (table.part.empty()) {
    b.splits = data::random_split(n, c_.train, c_.valid, seed_, kWho);
    b.protocol = fmt::format("random {:g}/{:g}/{:g} seed {}", c_.train, c_.valid, 1.0 - c_.train - c_.valid, seed_);
  } else {
    std::vector<std::int64_t> first;
    for (std::int64_t r = 0; r < n; ++r) {
      if (table.part[static_cast<std::size_t>(r)] == 0)
        first.push_back(r);
      else
        b.splits.test.push_back(r);
    }
    const auto inner =
        data::random_split(static_cast<std::int64_t>(first.size()), 1.0 - c_.valid, c_.valid, seed_, kWho);
    for (auto i : inner.train) b.splits.train.push_back(first[static_cast<std::size_t>(i)]);
    for (auto i : inner.test) b.splits.train.push_back(first[static_cast<std::size_t>(i)]);  // rounding leftovers
    for (auto i : inner.valid) b.splits.valid.push_back(first[static_cast<std::size_t>(i)]);
    std::sort(b.splits.train.begin(), b.splits.train.end());
    b.protocol =
        fmt::format("test file {}; valid {} of the training file at random, seed {}", c_.test_path, c_.valid, seed_);
    b.test_file = test_path_;
  }
  if (b.splits.train.empty())
    throw data::DataError(fmt::format("{}: no training examples ({} rows, protocol: {})", kWho, n, b.protocol));

  auto& ex = b.examples;
  ex.begin.assign(static_cast<std::size_t>(n), 0);
  ex.end.assign(static_cast<std::size_t>(n), 0);
  const auto F = static_cast<std::int64_t>(c_.categorical.size());
  const auto D = static_cast<std::int64_t>(c_.numeric.size());
  ex.categorical.assign(static_cast<std::size_t>(n * F), 0);
  std::int64_t unseen_total = 0;
  for (std::int64_t f = 0; f < F; ++f) {
    const data::Column& col = table.column(c_.categorical[static_cast<std::size_t>(f)], kWho);
    std::unordered_map<std::string, std::int64_t> code;
    for (auto r : b.splits.train) {
      const std::string v = data::cell_text(col, r);
      if (!v.empty()) code.try_emplace(v, static_cast<std::int64_t>(code.size()) + 1);
    }
    for (std::int64_t r = 0; r < n; ++r) {
      const std::string v = data::cell_text(col, r);
      const auto it = code.find(v);
      ex.categorical[static_cast<std::size_t>(r * F + f)] = it == code.end() ? 0 : it->second;
      unseen_total += (it == code.end() && !v.empty()) ? 1 : 0;
    }
    ex.categorical_names.push_back(col.name);
    ex.categorical_cardinality.push_back(static_cast<std::int64_t>(code.size()) + 1);
  }
  ex.dense.assign(static_cast<std::size_t>(n * D), 0.0f);
  for (std::int64_t d = 0; d < D; ++d) {
    const data::Column& col = table.column(c_.numeric[static_cast<std::size_t>(d)], kWho);
    if (!col.numeric) throw data::DataError(fmt::format("{}: numeric column '{}' holds text", kWho, col.name));
    const double fill = impute_value(col, b.splits.train);
    std::int64_t missing = 0, first = -1;
    for (std::int64_t r = 0; r < n; ++r) {
      double x = col.num[static_cast<std::size_t>(r)];
      if (std::isnan(x)) {
        if (missing++ == 0) first = r;
        x = fill;
      }
      ex.dense[static_cast<std::size_t>(r * D + d)] = static_cast<float>(x);
    }
    if (missing > 0 && c_.impute == "none")
      throw data::DataError(fmt::format(
          "{}: {}:{}: numeric feature '{}' is missing{}; a feature needs a value: fill the gaps (impute: mean or "
          "zero) or drop those rows (preprocess: [{{type: drop_missing, columns: [{}]}}])",
          kWho, row_file(table, first), table.line[static_cast<std::size_t>(first)], col.name,
          missing == 1 ? "" : fmt::format(" (and in {} more rows)", missing - 1), col.name));
    if (missing > 0)
      report.lines.push_back(fmt::format("{}: {} missing value{} of '{}' filled with {}", kWho, missing,
                                         missing == 1 ? "" : "s", col.name,
                                         c_.impute == "mean" ? fmt::format("the training mean {:g}", fill) : "0"));
    ex.dense_names.push_back(col.name);
  }
  if (c_.tokens && F > 0) {
    std::vector<std::int64_t> offset(static_cast<std::size_t>(F), 0);
    for (std::int64_t f = 1; f < F; ++f)
      offset[static_cast<std::size_t>(f)] =
          offset[static_cast<std::size_t>(f - 1)] + ex.categorical_cardinality[static_cast<std::size_t>(f - 1)];
    ex.vocab = 1 + offset.back() + ex.categorical_cardinality.back();
    ex.tokens.resize(static_cast<std::size_t>(n * F));
    for (std::int64_t r = 0; r < n; ++r) {
      ex.begin[static_cast<std::size_t>(r)] = r * F;
      ex.end[static_cast<std::size_t>(r)] = (r + 1) * F;
      for (std::int64_t f = 0; f < F; ++f)
        ex.tokens[static_cast<std::size_t>(r * F + f)] =
            1 + offset[static_cast<std::size_t>(f)] + ex.categorical[static_cast<std::size_t>(r * F + f)];
    }
  }

  for (const auto& t : c_.tasks) {
    const data::Column& col = table.column(t.column, kWho);
    auto where = [&](std::int64_t r) {
      return fmt::format("{}: {}:{}: task '{}'", kWho, row_file(table, r), table.line[static_cast<std::size_t>(r)],
                         t.name);
    };
    auto label_text = [&](std::int64_t r) {
      std::string v = data::cell_text(col, r);
      if (!t.strip.empty() && v.size() > t.strip.size() && v.ends_with(t.strip)) v.resize(v.size() - t.strip.size());
      return v;
    };
    data::LabelColumn l;
    l.task = t.name;
    if (t.kind == "value") {
      l.kind = data::LabelKind::kValue;
      if (!col.numeric)
        throw data::DataError(
            fmt::format("{}: task '{}': column '{}' holds text, not numbers", kWho, t.name, col.name));
      for (double x : col.num) l.values.push_back(static_cast<float>(x));
    } else if (t.kind == "binary") {
      l.kind = data::LabelKind::kBinary;
      for (std::int64_t r = 0; r < n; ++r) {
        const std::string v = label_text(r);
        if (v.empty())
          l.values.push_back(std::numeric_limits<float>::quiet_NaN());
        else if (contains(t.positive, v))
          l.values.push_back(1.0f);
        else if (t.negative.empty() || contains(t.negative, v))
          l.values.push_back(0.0f);
        else
          throw data::DataError(fmt::format("{}: value '{}' is not one of: {} (positive), {} (negative)", where(r), v,
                                            core::join_names(t.positive), core::join_names(t.negative)));
      }
    } else {
      l.kind = data::LabelKind::kClass;
      std::vector<std::string> texts(static_cast<std::size_t>(n));
      for (std::int64_t r = 0; r < n; ++r) texts[static_cast<std::size_t>(r)] = label_text(r);
      if (t.classes.empty()) {
        std::vector<std::string> present;
        for (const auto& v : texts)
          if (!v.empty()) present.push_back(v);
        l.class_names = sorted_distinct(std::move(present));
      } else {
        l.class_names = t.classes;
      }
      std::unordered_map<std::string, std::int64_t> id;
      for (std::size_t k = 0; k < l.class_names.size(); ++k) id.emplace(l.class_names[k], static_cast<std::int64_t>(k));
      for (std::int64_t r = 0; r < n; ++r) {
        const auto& v = texts[static_cast<std::size_t>(r)];
        if (v.empty()) {
          l.ids.push_back(-1);
          continue;
        }
        const auto it = id.find(v);
        if (it == id.end())
          throw data::DataError(
              fmt::format("{}: value '{}' is not one of: {}", where(r), v, core::join_names(l.class_names)));
        l.ids.push_back(it->second);
      }
      l.classes = static_cast<std::int64_t>(l.class_names.size());
      if (l.classes < 2)
        throw data::DataError(
            fmt::format("{}: task '{}': column '{}' has {} class(es) ({}); a class task needs at least 2", kWho, t.name,
                        col.name, l.classes, core::join_names(l.class_names)));
    }
    ex.labels.push_back(std::move(l));
  }

  report.lines.push_back(fmt::format(
      "{}: {} rows ({}); {} categorical, {} numeric features; {} unseen categorical values coded 0; "
      "train {}, valid {}, test {}",
      kWho, n, table.source, F, D, unseen_total, b.splits.train.size(), b.splits.valid.size(), b.splits.test.size()));
  return b;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::data::Dataset, tabular, attnlab::plugins::TabularDataset, attnlab::plugins::TabularConfig,
    "rows of a CSV table with categorical/numeric features and one label column per task (UCI Adult-style)");
