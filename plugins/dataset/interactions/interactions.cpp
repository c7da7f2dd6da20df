#include "plugins/dataset/interactions/interactions.h"

#include "framework/data/reader.h"
#include "framework/data/sequences.h"
#include "framework/data/text_file.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace attnlab::plugins {

namespace {
constexpr const char* kWho = "dataset interactions";
}

InteractionsDataset::InteractionsDataset(const InteractionsConfig& c, const Context& ctx)
    : c_(c), path_(data::existing_file(c.path, ctx.base_dir, "path")) {
  if (c_.click_threshold && c_.rating_col.empty())
    throw data::DataError(
        fmt::format("{}: click_threshold needs rating_col (the rating a click is derived from)", kWho));
  if (c_.split == "temporal" && c_.q_train > c_.q_valid)
    throw data::DataError(fmt::format("{}: q_train {} must not exceed q_valid {}", kWho, c_.q_train, c_.q_valid));
  if (c_.split == "temporal" && (c_.format == "sasrec" || c_.time_col.empty()))
    throw data::DataError(fmt::format("{}: a temporal split needs timestamps, and {} has none", kWho,
                                      c_.format == "sasrec" ? "format sasrec" : "time_col ''"));
  if (c_.user_col == c_.item_col)
    throw data::DataError(fmt::format("{}: user_col and item_col are both '{}'", kWho, c_.user_col));
  data::quote_from(c_.quote, kWho);
  data::on_error_from(c_.on_error, kWho);
}

data::Table InteractionsDataset::load(data::DataReport& report) {
  data::ReadOptions o;
  o.path = path_;
  o.comment = c_.comment;
  o.on_error = data::on_error_from(c_.on_error, kWho);
  o.keep = {c_.user_col, c_.item_col};
  if (c_.format == "sasrec") {
    o.delimiter = "whitespace";
    o.header = false;
    o.names = {c_.user_col, c_.item_col};
  } else {
    o.delimiter = c_.delimiter;
    o.header = c_.header;
    o.names = c_.names;
    o.quote = data::quote_from(c_.quote, kWho);
    if (!c_.time_col.empty()) {
      o.keep.push_back(c_.time_col);
      o.numeric.push_back(c_.time_col);
    }
  }
  if (!c_.rating_col.empty()) {
    o.keep.push_back(c_.rating_col);
    o.numeric.push_back(c_.rating_col);
  }
  try {
    return data::read_table(o, report);
  } catch (const data::DataError& e) {
    throw data::DataError(fmt::format("{}: {}", kWho, e.what()));
  }
}

data::Built InteractionsDataset::build(data::Table table, data::DataReport& report) {
  const bool timed = c_.format == "table" && !c_.time_col.empty();
  const bool rated = !c_.rating_col.empty();
  // Rows missing a user, item or time: rejected or dropped, before any id is assigned.
  {
    std::vector<const data::Column*> needed{&table.column(c_.user_col, kWho), &table.column(c_.item_col, kWho)};
    if (timed) needed.push_back(&table.column(c_.time_col, kWho));
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(table.rows()), 1);
    std::int64_t dropped = 0;
    std::string first;
    for (std::int64_t r = 0; r < table.rows(); ++r)
      for (const auto* col : needed)
        if (col->missing(r)) {
          const auto line = table.line[static_cast<std::size_t>(r)];
          if (c_.on_error == "fail")
            throw data::DataError(
                fmt::format("{}: {}:{}: column '{}' is missing", kWho, table.source, line, col->name));
          if (dropped++ == 0) first = fmt::format("line {}: column '{}'", line, col->name);
          keep[static_cast<std::size_t>(r)] = 0;
          break;
        }
    if (dropped > 0) {
      table.filter(keep);
      report.warn(fmt::format("{}: {}: {} row{} with a missing user, item or time dropped (first: {})", kWho,
                              table.source, dropped, dropped == 1 ? "" : "s", first));
    }
  }
  if (timed && !table.column(c_.time_col, kWho).numeric)
    throw data::DataError(fmt::format("{}: time column '{}' is not numeric", kWho, c_.time_col));
  if (rated && !table.column(c_.rating_col, kWho).numeric)
    throw data::DataError(fmt::format("{}: rating column '{}' is not numeric", kWho, c_.rating_col));

  // Ids as text views; a numeric id column (made by some row step) is formatted first.
  std::vector<std::vector<std::string>> formatted;
  auto keys = [&](const data::Column& col) {
    std::vector<std::string_view> r(static_cast<std::size_t>(table.rows()));
    const std::vector<std::string>* text = &col.str;
    if (col.numeric) {
      formatted.emplace_back(r.size());
      for (std::size_t i = 0; i < r.size(); ++i)
        formatted.back()[i] = data::cell_text(col, static_cast<std::int64_t>(i));
      text = &formatted.back();
    }
    for (std::size_t i = 0; i < r.size(); ++i) r[i] = (*text)[i];
    return r;
  };
  formatted.reserve(2);
  const auto users = keys(table.column(c_.user_col, kWho));
  const auto items = keys(table.column(c_.item_col, kWho));
  std::vector<double> times;
  if (timed) times = table.column(c_.time_col, kWho).num;
  std::vector<float> ratings;
  if (rated)
    for (double x : table.column(c_.rating_col, kWho).num) ratings.push_back(static_cast<float>(x));

  const data::Sequences s = data::make_sequences(users, items, times, ratings);
  data::Built b;
  b.examples = data::next_item_examples(s, c_.min_history, kWho);
  auto& ex = b.examples;
  if (ex.size() == 0)
    throw data::DataError(
        fmt::format("{}: no examples: {} has {} rows, {} users, and no user has more than min_history = {} "
                    "interactions",
                    kWho, table.source, table.rows(), s.num_users(), c_.min_history));
  if (rated) {
    data::LabelColumn rating{.task = "rating", .kind = data::LabelKind::kValue};
    data::LabelColumn click{.task = "click", .kind = data::LabelKind::kBinary};
    for (std::int64_t i = 0; i < ex.size(); ++i) {
      const float r = s.ratings[static_cast<std::size_t>(ex.end[static_cast<std::size_t>(i)])];  // the target's rating
      rating.values.push_back(r);
      if (c_.click_threshold) click.values.push_back(std::isnan(r) ? r : (r >= *c_.click_threshold ? 1.0f : 0.0f));
    }
    ex.labels.push_back(std::move(rating));
    if (c_.click_threshold) ex.labels.push_back(std::move(click));
  }
  if (c_.fill_targets)
    for (std::int64_t i = 0; i < ex.size(); ++i)
      ex.targets.push_back(s.items[static_cast<std::size_t>(ex.end[static_cast<std::size_t>(i)])]);

  if (c_.split == "leave_one_out") {
    b.splits = data::leave_one_out(ex, s.offsets);
    b.protocol = fmt::format(
        "leave_one_out (per user: last target test, second-to-last valid, earlier train; users with < 3 "
        "interactions train only), min_history {}",
        c_.min_history);
  } else {
    auto t = data::temporal_split(ex, c_.q_train, c_.q_valid, kWho);
    b.splits = std::move(t.splits);
    b.protocol = fmt::format(
        "temporal (target time <= {} train, <= {} valid, later test: quantiles {} and {} of target times), "
        "min_history {}",
        t.cut_train, t.cut_valid, c_.q_train, c_.q_valid, c_.min_history);
  }
  if (c_.max_train_per_user > 0) {
    // Training rows are sorted, so a user's targets run oldest to newest: keep the last N of each.
    std::vector<std::int64_t> kept;
    std::map<std::int64_t, std::int64_t> seen;
    for (auto it = b.splits.train.rbegin(); it != b.splits.train.rend(); ++it)
      if (seen[ex.users[static_cast<std::size_t>(*it)]]++ < c_.max_train_per_user) kept.push_back(*it);
    std::reverse(kept.begin(), kept.end());
    report.lines.push_back(fmt::format("{}: max_train_per_user {} keeps {} of {} training targets", kWho,
                                       c_.max_train_per_user, kept.size(), b.splits.train.size()));
    b.splits.train = std::move(kept);
    b.protocol += fmt::format("; training limited to each user's last {} targets", c_.max_train_per_user);
  }
  report.lines.push_back(fmt::format(
      "{}: {} interactions, {} users, {} items; {} examples: train {}, valid {}, test {}", kWho, s.items.size(),
      s.num_users(), s.num_items(), ex.size(), b.splits.train.size(), b.splits.valid.size(), b.splits.test.size()));
  return b;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::data::Dataset, interactions, attnlab::plugins::InteractionsDataset, attnlab::plugins::InteractionsConfig,
    "user-item interaction logs (CSV/TSV/SASRec, .gz) as next-item examples with leave-one-out or temporal splits");
