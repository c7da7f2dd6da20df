#include "plugins/dataset/synthetic/synthetic.h"

#include "framework/data/splits.h"
#include "framework/registry/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace attnlab::plugins {

namespace {

constexpr const char* kWho = "dataset synthetic";

[[noreturn]] void fail(const std::string& what) { throw data::DataError(fmt::format("{}: {}", kWho, what)); }

std::int64_t below(core::Rng& rng, std::int64_t n) {
  return static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
}

bool wants(const SyntheticConfig& c, const char* task) {
  return std::find(c.tasks.begin(), c.tasks.end(), task) != c.tasks.end();
}

// Items grouped by topic, compressed: topic t's items are items[off[t], off[t+1]).
struct Groups {
  std::vector<std::int64_t> off, items;
  std::int64_t size(std::int64_t t) const {
    return off[static_cast<std::size_t>(t) + 1] - off[static_cast<std::size_t>(t)];
  }
  std::int64_t pick(std::int64_t t, core::Rng& rng) const {
    return items[static_cast<std::size_t>(off[static_cast<std::size_t>(t)] + below(rng, size(t)))];
  }
};

}  // namespace

void check_synthetic_config(const SyntheticConfig& c) {
  if (c.informative > c.seq_len)
    fail(fmt::format("informative = {} positions do not fit in seq_len = {}", c.informative, c.seq_len));
  if (c.user_interests > c.num_topics)
    fail(fmt::format("user_interests = {} exceeds num_topics = {}", c.user_interests, c.num_topics));
  if (c.num_topics < 2) fail(fmt::format("num_topics = {}: at least 2 topics are needed", c.num_topics));
  if (c.num_items < 2 * c.num_topics)
    fail(
        fmt::format("num_items = {} is less than 2 * num_topics = {} (each topic needs a signal and a background item)",
                    c.num_items, 2 * c.num_topics));
  if (c.distractor + c.decoy > 1.0 + 1e-12)
    fail(fmt::format("distractor + decoy = {} + {} exceeds 1", c.distractor, c.decoy));
  if (c.train_ratio + c.valid_ratio > 1.0 + 1e-12)
    fail(fmt::format("train_ratio + valid_ratio = {} + {} exceeds 1", c.train_ratio, c.valid_ratio));
  if (c.tasks.empty()) fail("tasks is empty; choose from topic, next_item, click, rating");
  if (std::set<std::string>(c.tasks.begin(), c.tasks.end()).size() != c.tasks.size())
    fail(fmt::format("tasks lists a task twice: {}", fmt::join(c.tasks, ", ")));
}

SyntheticData generate_synthetic(const SyntheticConfig& c, std::int64_t n, core::Rng& rng) {
  check_synthetic_config(c);
  if (n < 0) fail(fmt::format("{} sequences requested", n));
  const std::int64_t num_topics = c.num_topics, T = c.seq_len, k = c.informative, I = c.user_interests;
  SyntheticData d;

  // ---- the world ----
  std::vector<std::int64_t> perm(static_cast<std::size_t>(c.num_items));
  std::iota(perm.begin(), perm.end(), 1);
  for (std::int64_t i = c.num_items - 1; i > 0; --i)
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(below(rng, i + 1))]);
  d.item_topic.assign(static_cast<std::size_t>(c.num_items) + 1, -1);
  d.item_signal.assign(static_cast<std::size_t>(c.num_items) + 1, 0);
  d.successor.assign(static_cast<std::size_t>(c.num_items) + 1, 0);
  Groups all, signal, background;
  all.off.push_back(0);
  signal.off.push_back(0);
  background.off.push_back(0);
  for (std::int64_t t = 0; t < num_topics; ++t) {
    std::vector<std::int64_t> members;  // perm positions j with j % num_topics == t: a random, balanced deal
    for (std::int64_t j = t; j < c.num_items; j += num_topics) members.push_back(perm[static_cast<std::size_t>(j)]);
    const auto size = static_cast<std::int64_t>(members.size());
    const std::int64_t n_signal =
        std::clamp<std::int64_t>(std::llround(c.signal_fraction * static_cast<double>(size)), 1, size - 1);
    for (std::int64_t j = 0; j < size; ++j) {
      const std::int64_t item = members[static_cast<std::size_t>(j)];
      d.item_topic[static_cast<std::size_t>(item)] = t;
      all.items.push_back(item);
      if (j < n_signal) {
        d.item_signal[static_cast<std::size_t>(item)] = 1;
        signal.items.push_back(item);
        d.successor[static_cast<std::size_t>(item)] = members[static_cast<std::size_t>((j + 1) % n_signal)];
      } else {
        background.items.push_back(item);
      }
    }
    all.off.push_back(static_cast<std::int64_t>(all.items.size()));
    signal.off.push_back(static_cast<std::int64_t>(signal.items.size()));
    background.off.push_back(static_cast<std::int64_t>(background.items.size()));
  }
  std::vector<std::int64_t> topics(static_cast<std::size_t>(num_topics));
  std::iota(topics.begin(), topics.end(), 0);
  d.user_topics.resize(static_cast<std::size_t>(c.num_users * I));
  for (std::int64_t u = 0; u < c.num_users; ++u)
    for (std::int64_t j = 0; j < I; ++j) {  // partial Fisher–Yates: I distinct topics
      std::swap(topics[static_cast<std::size_t>(j)], topics[static_cast<std::size_t>(j + below(rng, num_topics - j))]);
      d.user_topics[static_cast<std::size_t>(u * I + j)] = topics[static_cast<std::size_t>(j)];
    }

  // ---- the sequences ----
  const bool want_next = wants(c, "next_item"), want_click = wants(c, "click"), want_rating = wants(c, "rating");
  auto& ex = d.examples;
  ex.vocab = c.num_items + 1;
  ex.num_users = c.num_users;
  ex.tokens.resize(static_cast<std::size_t>(n * T));
  ex.begin.resize(static_cast<std::size_t>(n));
  ex.end.resize(static_cast<std::size_t>(n));
  ex.users.resize(static_cast<std::size_t>(n));
  ex.truth_offsets.resize(static_cast<std::size_t>(n) + 1);
  ex.truth.resize(static_cast<std::size_t>(n * k));
  d.target_topic.resize(static_cast<std::size_t>(n));
  std::vector<std::int64_t> next_item, candidates;
  std::vector<float> clicks, ratings;
  if (want_next) next_item.resize(static_cast<std::size_t>(n));
  if (want_click || want_rating) candidates.resize(static_cast<std::size_t>(n));
  if (want_click) clicks.resize(static_cast<std::size_t>(n));
  if (want_rating) ratings.resize(static_cast<std::size_t>(n));

  std::vector<std::int64_t> positions(static_cast<std::size_t>(T));
  std::iota(positions.begin(), positions.end(), 0);
  std::vector<std::uint8_t> planted(static_cast<std::size_t>(T), 0);
  std::vector<std::int64_t> decoys(static_cast<std::size_t>(num_topics), 0), touched;
  const auto n_background = static_cast<std::int64_t>(background.items.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t u = below(rng, c.num_users);
    const std::int64_t* interests = &d.user_topics[static_cast<std::size_t>(u * I)];
    const std::int64_t slot = below(rng, I);
    const std::int64_t t = interests[slot];
    // Another interest of u (uniform over the I - 1 others); needs I > 1.
    auto other_interest = [&] {
      const std::int64_t j = below(rng, I - 1);
      return interests[j < slot ? j : j + 1];
    };
    std::int64_t* seq = &ex.tokens[static_cast<std::size_t>(i * T)];
    // A partial Fisher–Yates over `positions` (a permutation, so it needs no reset) picks k positions.
    std::int64_t* truth = &ex.truth[static_cast<std::size_t>(i * k)];
    for (std::int64_t j = 0; j < k; ++j) {
      std::swap(positions[static_cast<std::size_t>(j)], positions[static_cast<std::size_t>(j + below(rng, T - j))]);
      truth[j] = positions[static_cast<std::size_t>(j)];
    }
    std::sort(truth, truth + k);
    for (std::int64_t j = 0; j < k; ++j) planted[static_cast<std::size_t>(truth[j])] = 1;
    for (std::int64_t p = 0; p < T; ++p) {
      if (planted[static_cast<std::size_t>(p)]) {
        seq[p] = signal.pick(t, rng);
        continue;
      }
      const double r = rng.uniform_double();
      if (r < c.decoy) {
        std::int64_t s = below(rng, num_topics - 1);
        if (s >= t) ++s;
        auto& count = decoys[static_cast<std::size_t>(s)];
        if (count + 1 < k) {
          if (count == 0) touched.push_back(s);
          ++count;
          seq[p] = signal.pick(s, rng);
          continue;
        }
      } else if (I > 1 && r < c.decoy + c.distractor) {
        seq[p] = background.pick(other_interest(), rng);
        continue;
      }
      seq[p] = background.items[static_cast<std::size_t>(below(rng, n_background))];
    }
    for (std::int64_t j = 0; j < k; ++j) planted[static_cast<std::size_t>(truth[j])] = 0;
    for (const std::int64_t s : touched) decoys[static_cast<std::size_t>(s)] = 0;
    touched.clear();

    ex.begin[static_cast<std::size_t>(i)] = i * T;
    ex.end[static_cast<std::size_t>(i)] = (i + 1) * T;
    ex.users[static_cast<std::size_t>(i)] = u;
    ex.truth_offsets[static_cast<std::size_t>(i) + 1] = (i + 1) * k;
    d.target_topic[static_cast<std::size_t>(i)] = t;
    if (want_next) next_item[static_cast<std::size_t>(i)] = d.successor[static_cast<std::size_t>(seq[truth[k - 1]])];
    if (want_click || want_rating) {
      std::int64_t ct = t;
      if (rng.bernoulli(0.5f)) {
        if (I > 1 && rng.bernoulli(0.5f)) {
          ct = other_interest();
        } else {
          ct = below(rng, num_topics - 1);
          if (ct >= t) ++ct;
        }
      }
      const std::int64_t cand = all.pick(ct, rng);
      candidates[static_cast<std::size_t>(i)] = cand;
      if (want_click) clicks[static_cast<std::size_t>(i)] = ct == t ? 1.0f : 0.0f;
      if (want_rating) {
        const double base = ct == t ? 5.0 : std::find(interests, interests + I, ct) != interests + I ? 3.0 : 1.0;
        ratings[static_cast<std::size_t>(i)] =
            static_cast<float>(std::clamp(std::round(base + c.rating_noise * rng.normal()), 1.0, 5.0));
      }
    }
  }

  if (want_click || want_rating) ex.targets = std::move(candidates);
  for (const auto& task : c.tasks) {
    data::LabelColumn label;
    label.task = task;
    if (task == "topic") {
      label.kind = data::LabelKind::kClass;
      label.classes = num_topics;
      label.ids = d.target_topic;
      for (std::int64_t t = 0; t < num_topics; ++t) label.class_names.push_back(fmt::format("topic{}", t));
    } else if (task == "next_item") {
      label.kind = data::LabelKind::kItem;
      label.classes = c.num_items + 1;
      label.ids = next_item;
    } else if (task == "click") {
      label.kind = data::LabelKind::kBinary;
      label.values = clicks;
    } else {
      label.kind = data::LabelKind::kValue;
      label.values = ratings;
    }
    ex.labels.push_back(std::move(label));
  }
  return d;
}

SyntheticDataset::SyntheticDataset(const SyntheticConfig& c, const Context& ctx) : c_(c) {
  check_synthetic_config(c_);
  if (ctx.rng == nullptr) fail("no data Rng in the context");
  rng_ = ctx.rng->fork(0x5e17);
}

data::Built SyntheticDataset::build(data::Table, data::DataReport& report) {
  const bool random = c_.split == "random";
  const std::int64_t n = random ? c_.sequences : c_.train + c_.valid + c_.test;
  core::Rng gen = rng_.fork(1);
  data::Built b;
  b.examples = std::move(generate_synthetic(c_, n, gen).examples);
  if (random) {
    const std::uint64_t seed = rng_.fork(2).next_u64();
    b.splits = data::random_split(n, c_.train_ratio, c_.valid_ratio, seed, kWho);
    b.protocol = fmt::format("random {:g}/{:g}/{:g} seed {}", c_.train_ratio, c_.valid_ratio,
                             1.0 - c_.train_ratio - c_.valid_ratio, seed);
  } else {
    auto range = [](std::int64_t from, std::int64_t to) {
      std::vector<std::int64_t> r(static_cast<std::size_t>(to - from));
      std::iota(r.begin(), r.end(), from);
      return r;
    };
    b.splits = {range(0, c_.train), range(c_.train, c_.train + c_.valid), range(c_.train + c_.valid, n)};
    b.protocol = fmt::format("count {}/{}/{}", c_.train, c_.valid, c_.test);
  }
  report.lines.push_back(fmt::format(
      "synthetic: {} sequences of {} items ({} informative), {} items in {} topics (signal fraction {}), {} users with "
      "{} "
      "interests; distractor {}, decoy {}; train {}, valid {}, test {}",
      n, c_.seq_len, c_.informative, c_.num_items, c_.num_topics, c_.signal_fraction, c_.num_users, c_.user_interests,
      c_.distractor, c_.decoy, b.splits.train.size(), b.splits.valid.size(), b.splits.test.size()));
  return b;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::data::Dataset, synthetic, attnlab::plugins::SyntheticDataset, attnlab::plugins::SyntheticConfig,
    "generated user sequences with planted informative positions (topic, next_item, click, rating)");
