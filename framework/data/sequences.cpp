#include "framework/data/sequences.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace attnlab::data {

Sequences make_sequences(const std::vector<std::string_view>& users, const std::vector<std::string_view>& items,
                         const std::vector<double>& times, const std::vector<float>& ratings) {
  const std::size_t n = users.size();
  if (items.size() != n || (!times.empty() && times.size() != n) || (!ratings.empty() && ratings.size() != n))
    throw DataError(fmt::format("make_sequences: {} users, {} items, {} times, {} ratings: lengths differ", n,
                                items.size(), times.size(), ratings.size()));
  for (std::size_t i = 0; i < times.size(); ++i)
    if (std::isnan(times[i])) throw DataError(fmt::format("make_sequences: row {} has no time", i));
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (!times.empty())
    std::stable_sort(order.begin(), order.end(), [&times](std::int64_t a, std::int64_t b) {
      return times[static_cast<std::size_t>(a)] < times[static_cast<std::size_t>(b)];
    });

  Sequences s;
  s.item_keys.emplace_back();
  std::unordered_map<std::string_view, std::int64_t> user_id, item_id;
  user_id.reserve(n / 8 + 16);
  item_id.reserve(n / 8 + 16);
  std::vector<std::int64_t> uid(n), iid(n);  // dense ids, by position in `order`
  std::vector<std::int64_t> count;
  for (std::size_t k = 0; k < n; ++k) {
    const auto r = static_cast<std::size_t>(order[k]);
    auto [u, new_user] = user_id.try_emplace(users[r], static_cast<std::int64_t>(s.user_keys.size()));
    if (new_user) {
      s.user_keys.emplace_back(users[r]);
      count.push_back(0);
    }
    auto [it, new_item] = item_id.try_emplace(items[r], static_cast<std::int64_t>(s.item_keys.size()));
    if (new_item) s.item_keys.emplace_back(items[r]);
    uid[k] = u->second;
    iid[k] = it->second;
    ++count[static_cast<std::size_t>(u->second)];
  }
  // A counting sort by user keeps each user's interactions in the (time, row) order.
  s.offsets.assign(count.size() + 1, 0);
  for (std::size_t u = 0; u < count.size(); ++u) s.offsets[u + 1] = s.offsets[u] + count[u];
  std::vector<std::int64_t> next(s.offsets.begin(), s.offsets.end() - 1);
  s.items.resize(n);
  s.rows.resize(n);
  if (!times.empty()) s.times.resize(n);
  if (!ratings.empty()) s.ratings.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const auto at = static_cast<std::size_t>(next[static_cast<std::size_t>(uid[k])]++);
    const auto r = static_cast<std::size_t>(order[k]);
    s.items[at] = iid[k];
    s.rows[at] = order[k];
    if (!times.empty()) s.times[at] = times[r];
    if (!ratings.empty()) s.ratings[at] = ratings[r];
  }
  return s;
}

Examples next_item_examples(const Sequences& s, std::int64_t min_history, const std::string& who) {
  if (min_history < 1) throw DataError(fmt::format("{}: min_history {} must be at least 1", who, min_history));
  Examples ex;
  ex.tokens = s.items;
  ex.vocab = s.num_items() + 1;
  // Dense ids map back to the file's item ids (reports show those); 0 is padding.
  ex.token_names = s.item_keys;
  if (!ex.token_names.empty()) ex.token_names[0] = "<pad>";
  ex.num_users = s.num_users();
  LabelColumn next{.task = "next_item", .kind = LabelKind::kItem, .classes = s.num_items() + 1};
  for (std::int64_t u = 0; u < s.num_users(); ++u) {
    const std::int64_t from = s.offsets[static_cast<std::size_t>(u)], to = s.offsets[static_cast<std::size_t>(u) + 1];
    for (std::int64_t at = from + min_history; at < to; ++at) {
      ex.begin.push_back(from);
      ex.end.push_back(at);
      ex.users.push_back(u);
      ex.sequence_begin.push_back(from);
      next.ids.push_back(s.items[static_cast<std::size_t>(at)]);
      if (!s.times.empty()) ex.times.push_back(s.times[static_cast<std::size_t>(at)]);
    }
  }
  ex.labels.push_back(std::move(next));
  return ex;
}

Splits leave_one_out(const Examples& ex, const std::vector<std::int64_t>& offsets) {
  Splits sp;
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const auto u = static_cast<std::size_t>(ex.users[static_cast<std::size_t>(i)]);
    const std::int64_t n = offsets[u + 1] - offsets[u];
    const std::int64_t pos = ex.end[static_cast<std::size_t>(i)] - offsets[u];  // the target's position
    if (n >= 3 && pos == n - 1)
      sp.test.push_back(i);
    else if (n >= 3 && pos == n - 2)
      sp.valid.push_back(i);
    else
      sp.train.push_back(i);
  }
  return sp;
}

double time_quantile(std::vector<double> times, double q, const std::string& who) {
  if (times.empty()) throw DataError(fmt::format("{}: a time quantile of no times", who));
  if (q <= 0) return -std::numeric_limits<double>::infinity();
  std::sort(times.begin(), times.end());
  const double n = static_cast<double>(times.size());
  // The epsilon keeps q*n that is a whole number up to rounding (0.7*10 = 7.000000000000001) whole.
  auto k = static_cast<std::int64_t>(std::ceil(q * n - 1e-9)) - 1;
  k = std::clamp<std::int64_t>(k, 0, static_cast<std::int64_t>(times.size()) - 1);
  return times[static_cast<std::size_t>(k)];
}

TemporalSplit temporal_split(const Examples& ex, double q_train, double q_valid, const std::string& who) {
  if (ex.times.empty())
    throw DataError(fmt::format(
        "{}: a temporal split needs the time of every example, and these examples have none (no time column)", who));
  if (!(q_train >= 0 && q_train <= q_valid && q_valid <= 1))
    throw DataError(
        fmt::format("{}: temporal quantiles q_train {} and q_valid {} must satisfy 0 <= q_train <= q_valid <= 1", who,
                    q_train, q_valid));
  TemporalSplit t;
  t.cut_train = time_quantile(ex.times, q_train, who);
  t.cut_valid = time_quantile(ex.times, q_valid, who);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const double time = ex.times[static_cast<std::size_t>(i)];
    if (time <= t.cut_train)
      t.splits.train.push_back(i);
    else if (time <= t.cut_valid)
      t.splits.valid.push_back(i);
    else
      t.splits.test.push_back(i);
  }
  return t;
}

}  // namespace attnlab::data
