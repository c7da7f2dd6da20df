// dataset/synthetic: determinism, the planted truth, label consistency, and that the task needs the
// truth positions (an oracle reading them is perfect, counting all items is not).
#include "framework/config/value.h"
#include "framework/registry/registry.h"
#include "plugins/dataset/synthetic/synthetic.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace attnlab_synthetic_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using plugins::SyntheticConfig;
using plugins::SyntheticData;

SyntheticConfig small() {
  SyntheticConfig c;
  c.num_items = 200;
  c.num_topics = 10;
  c.num_users = 50;
  c.seq_len = 20;
  c.informative = 3;
  c.sequences = 1000;
  return c;
}

data::Built build(const SyntheticConfig& c, std::uint64_t seed) {
  core::Rng rng(seed);
  plugins::SyntheticDataset ds(c, {.rng = &rng});
  data::DataReport report;
  return ds.build({}, report);
}

SyntheticData generate(const SyntheticConfig& c, std::int64_t n, std::uint64_t seed) {
  core::Rng rng(seed);
  return plugins::generate_synthetic(c, n, rng);
}

const data::LabelColumn& label(const data::Examples& ex, const std::string& task) {
  for (const auto& l : ex.labels)
    if (l.task == task) return l;
  BOOST_FAIL("no label " << task);
  return ex.labels.front();
}

BOOST_AUTO_TEST_SUITE(data_synthetic)

BOOST_AUTO_TEST_CASE(same_seed_same_bytes_other_seed_other_bytes) {
  const auto c = small();
  const auto a = build(c, 7), b = build(c, 7), d = build(c, 8);
  BOOST_TEST((a.examples.tokens == b.examples.tokens));
  BOOST_TEST((a.examples.truth == b.examples.truth));
  BOOST_TEST((a.examples.users == b.examples.users));
  BOOST_TEST((a.examples.targets == b.examples.targets));
  for (std::size_t t = 0; t < a.examples.labels.size(); ++t) {
    BOOST_TEST((a.examples.labels[t].ids == b.examples.labels[t].ids));
    BOOST_TEST((a.examples.labels[t].values == b.examples.labels[t].values));
  }
  BOOST_TEST((a.splits.train == b.splits.train));
  BOOST_TEST((a.splits.test == b.splits.test));
  BOOST_TEST((a.protocol == b.protocol));
  BOOST_TEST((a.examples.tokens != d.examples.tokens));
  BOOST_TEST((a.examples.truth != d.examples.truth));
  BOOST_TEST((a.splits.train != d.splits.train));
}

BOOST_AUTO_TEST_CASE(sizes_layout_and_splits) {
  auto c = small();
  const auto b = build(c, 1);
  const auto& ex = b.examples;
  BOOST_TEST(ex.size() == 1000);
  BOOST_TEST(ex.tokens.size() == 1000u * 20u);
  BOOST_TEST(ex.vocab == 201);
  BOOST_TEST(ex.num_users == 50);
  BOOST_TEST(ex.step_dim == 0);
  BOOST_TEST(ex.truth_offsets.size() == 1001u);
  BOOST_TEST(ex.truth.size() == 3000u);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    BOOST_TEST(ex.begin[i] == i * 20);
    BOOST_TEST(ex.end[i] == (i + 1) * 20);
    BOOST_TEST(ex.truth_offsets[i + 1] - ex.truth_offsets[i] == 3);
    BOOST_TEST((ex.users[i] >= 0 && ex.users[i] < 50));
  }
  for (const auto t : ex.tokens) BOOST_TEST((t >= 1 && t <= 200));
  BOOST_TEST(ex.labels.size() == 4u);
  BOOST_TEST(ex.labels[0].task == "topic");
  BOOST_TEST(ex.labels[1].task == "next_item");
  BOOST_TEST(ex.labels[2].task == "click");
  BOOST_TEST(ex.labels[3].task == "rating");
  BOOST_TEST((ex.labels[0].kind == data::LabelKind::kClass && ex.labels[0].classes == 10));
  BOOST_TEST(ex.labels[0].class_names.size() == 10u);
  BOOST_TEST((ex.labels[1].kind == data::LabelKind::kItem && ex.labels[1].classes == 201));
  BOOST_TEST((ex.labels[2].kind == data::LabelKind::kBinary && ex.labels[2].values.size() == 1000u));
  BOOST_TEST((ex.labels[3].kind == data::LabelKind::kValue && ex.labels[3].values.size() == 1000u));
  BOOST_TEST(ex.targets.size() == 1000u);
  // 0.8 / 0.1 / 0.1 of 1000, disjoint and covering.
  BOOST_TEST(b.splits.train.size() == 800u);
  BOOST_TEST(b.splits.valid.size() == 100u);
  BOOST_TEST(b.splits.test.size() == 100u);
  std::set<std::int64_t> all(b.splits.train.begin(), b.splits.train.end());
  all.insert(b.splits.valid.begin(), b.splits.valid.end());
  all.insert(b.splits.test.begin(), b.splits.test.end());
  BOOST_TEST(all.size() == 1000u);

  c.split = "count";
  c.train = 30;
  c.valid = 5;
  c.test = 7;
  const auto counted = build(c, 1);
  BOOST_TEST(counted.examples.size() == 42);
  BOOST_TEST(counted.splits.train.size() == 30u);
  BOOST_TEST(counted.splits.valid.front() == 30);
  BOOST_TEST(counted.splits.test.front() == 35);
  BOOST_TEST(counted.splits.test.back() == 41);
  BOOST_TEST(counted.protocol == "count 30/5/7");
}

BOOST_AUTO_TEST_CASE(truth_positions_hold_the_informative_items) {
  auto c = small();
  c.decoy = 0.3;
  const auto d = generate(c, 2000, 3);
  const auto& ex = d.examples;
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const std::int64_t t = d.target_topic[i];
    const std::int64_t u = ex.users[i];
    const auto* interests = &d.user_topics[u * c.user_interests];
    BOOST_TEST((std::find(interests, interests + c.user_interests, t) != interests + c.user_interests));
    std::set<std::int64_t> truth(ex.truth.begin() + ex.truth_offsets[i], ex.truth.begin() + ex.truth_offsets[i + 1]);
    BOOST_TEST(truth.size() == 3u);  // distinct
    BOOST_TEST(std::is_sorted(ex.truth.begin() + ex.truth_offsets[i], ex.truth.begin() + ex.truth_offsets[i + 1]));
    std::map<std::int64_t, int> signal_per_topic;
    for (std::int64_t p = 0; p < ex.length(i); ++p) {
      const std::int64_t item = ex.tokens[ex.begin[i] + p];
      const bool is_truth = truth.count(p) > 0;
      const bool target_signal = d.item_topic[item] == t && d.item_signal[item];
      // A signal item of the target topic stands exactly at the truth positions.
      BOOST_TEST(is_truth == target_signal, "example " << i << " position " << p);
      if (d.item_signal[item]) ++signal_per_topic[d.item_topic[item]];
    }
    // Decoys never let another topic reach k signal items.
    for (const auto& [topic, count] : signal_per_topic)
      if (topic != t) BOOST_TEST(count < 3);
  }
}

BOOST_AUTO_TEST_CASE(labels_follow_from_the_truth) {
  auto c = small();
  c.rating_noise = 0.0;
  const auto d = generate(c, 2000, 5);
  const auto& ex = d.examples;
  const auto& topic = label(ex, "topic");
  const auto& next = label(ex, "next_item");
  const auto& click = label(ex, "click");
  const auto& rating = label(ex, "rating");
  std::int64_t positives = 0;
  std::map<float, int> levels;
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const std::int64_t t = topic.ids[i];
    BOOST_TEST(t == d.target_topic[i]);
    for (std::int64_t o = ex.truth_offsets[i]; o < ex.truth_offsets[i + 1]; ++o)
      BOOST_TEST(d.item_topic[ex.tokens[ex.begin[i] + ex.truth[o]]] == t);
    const std::int64_t last = ex.tokens[ex.begin[i] + ex.truth[ex.truth_offsets[i + 1] - 1]];
    BOOST_TEST(next.ids[i] == d.successor[last]);
    BOOST_TEST(d.item_topic[next.ids[i]] == t);
    BOOST_TEST(d.item_signal[next.ids[i]] == 1);
    const std::int64_t cand_topic = d.item_topic[ex.targets[i]];
    BOOST_TEST(click.values[i] == (cand_topic == t ? 1.0f : 0.0f));
    positives += cand_topic == t;
    const auto* interests = &d.user_topics[ex.users[i] * c.user_interests];
    const bool liked = std::find(interests, interests + c.user_interests, cand_topic) != interests + c.user_interests;
    const float want = cand_topic == t ? 5.0f : liked ? 3.0f : 1.0f;
    BOOST_TEST(rating.values[i] == want);
    ++levels[rating.values[i]];
  }
  // About half positives (binomial sd over 2000 is ~1.1%).
  BOOST_TEST(positives > 900);
  BOOST_TEST(positives < 1100);
  BOOST_TEST(levels.size() == 3u);
  // The successor cycle: each topic's signal items form one cycle.
  for (std::int64_t item = 1; item <= c.num_items; ++item)
    if (d.item_signal[item]) BOOST_TEST(d.item_topic[d.successor[item]] == d.item_topic[item]);
}

BOOST_AUTO_TEST_CASE(the_task_needs_the_truth_positions) {
  const auto c = small();  // distractor 0.5: u's two other interests fill about half of the 17 noise positions
  const auto d = generate(c, 3000, 11);
  const auto& ex = d.examples;
  const auto& topic = label(ex, "topic");
  std::int64_t oracle = 0, bag = 0;
  std::vector<std::int64_t> class_counts(10, 0);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    // Oracle: the topic of the items at the truth positions (majority of them).
    std::vector<int> votes(10, 0), counts(10, 0);
    for (std::int64_t o = ex.truth_offsets[i]; o < ex.truth_offsets[i + 1]; ++o)
      ++votes[d.item_topic[ex.tokens[ex.begin[i] + ex.truth[o]]]];
    oracle += std::max_element(votes.begin(), votes.end()) - votes.begin() == topic.ids[i];
    // Bag of all items: the most frequent topic of the whole sequence.
    for (std::int64_t p = ex.begin[i]; p < ex.end[i]; ++p) ++counts[d.item_topic[ex.tokens[p]]];
    bag += std::max_element(counts.begin(), counts.end()) - counts.begin() == topic.ids[i];
    ++class_counts[topic.ids[i]];
  }
  const double n = static_cast<double>(ex.size());
  const double majority = static_cast<double>(*std::max_element(class_counts.begin(), class_counts.end())) / n;
  BOOST_TEST(oracle / n == 1.0);
  // Expected: 3 target items + ~0.8 uniform noise items vs ~4.2 + 0.8 for each of two distractor topics.
  BOOST_TEST_MESSAGE("bag-of-items accuracy " << bag / n << ", majority class " << majority);
  BOOST_TEST(bag / n < 0.35);
  BOOST_TEST(majority < 0.2);
}

BOOST_AUTO_TEST_CASE(edge_parameters) {
  auto c = small();
  c.seq_len = 4;
  c.informative = 4;  // every position is informative
  c.user_interests = 1;
  c.tasks = {"topic"};
  const auto d = generate(c, 100, 2);
  BOOST_TEST(d.examples.labels.size() == 1u);
  BOOST_TEST(d.examples.targets.empty());
  for (std::int64_t i = 0; i < 100; ++i) {
    for (std::int64_t p = 0; p < 4; ++p) {
      BOOST_TEST(d.examples.truth[i * 4 + p] == p);
      BOOST_TEST(d.item_topic[d.examples.tokens[i * 4 + p]] == d.target_topic[i]);
    }
    BOOST_TEST(d.target_topic[i] == d.user_topics[d.examples.users[i]]);  // the user's only interest
  }
  c.seq_len = 1;
  c.informative = 1;
  c.decoy = 1.0;  // k = 1 leaves no room for decoys: background noise instead (no noise positions here anyway)
  c.distractor = 0.0;
  c.tasks = {"click", "rating"};
  const auto one = generate(c, 10, 2);
  BOOST_TEST(one.examples.tokens.size() == 10u);
  BOOST_TEST(one.examples.targets.size() == 10u);
  BOOST_TEST(one.examples.labels.front().task == "click");
  BOOST_TEST(generate(c, 0, 2).examples.size() == 0);
  // The smallest world: two topics of one signal and one background item each.
  auto tiny = small();
  tiny.num_items = 4;
  tiny.num_topics = 2;
  tiny.user_interests = 2;
  tiny.signal_fraction = 1.0;
  const auto w = generate(tiny, 50, 4);
  BOOST_TEST(std::count(w.item_signal.begin(), w.item_signal.end(), 1) == 2);
  for (std::int64_t item = 1; item <= 4; ++item)
    if (w.item_signal[item]) BOOST_TEST(w.successor[item] == item);
}

BOOST_AUTO_TEST_CASE(bad_configs_are_clear_errors) {
  auto bad = [](auto edit, std::vector<std::string> parts) {
    auto c = small();
    edit(c);
    core::Rng rng(1);
    expect_error<data::DataError>([&] { plugins::SyntheticDataset ds(c, {.rng = &rng}); }, parts);
  };
  bad([](SyntheticConfig& c) { c.informative = 21; }, {"dataset synthetic", "informative = 21", "seq_len = 20"});
  bad([](SyntheticConfig& c) { c.user_interests = 11; }, {"user_interests = 11", "num_topics = 10"});
  bad([](SyntheticConfig& c) { c.num_items = 19; }, {"num_items = 19", "2 * num_topics = 20"});
  bad(
      [](SyntheticConfig& c) {
        c.distractor = 0.7;
        c.decoy = 0.4;
      },
      {"distractor + decoy"});
  bad([](SyntheticConfig& c) { c.train_ratio = 0.95; }, {"train_ratio + valid_ratio"});
  bad([](SyntheticConfig& c) { c.tasks = {"topic", "topic"}; }, {"twice"});
  bad([](SyntheticConfig& c) { c.tasks = {}; }, {"tasks is empty"});
  expect_error<data::DataError>([] { plugins::SyntheticDataset ds(small(), {}); }, {"no data Rng"});
}

BOOST_AUTO_TEST_CASE(registered_with_its_config) {
  const auto& reg = registry::Registry<data::Dataset>::get();
  BOOST_TEST(reg.find("synthetic") != nullptr);
  core::Rng rng(3);
  const auto node = config::parse("type: synthetic\nsequences: 50\nseq_len: 8\ninformative: 2\n", "spec.yaml");
  auto ds = reg.create(node, {.rng = &rng}, "data.dataset");
  data::DataReport report;
  const auto b = ds->build({}, report);
  BOOST_TEST(b.examples.size() == 50);
  BOOST_TEST(b.examples.length(0) == 8);
  BOOST_TEST(report.lines.size() == 1u);
  // Config bounds come from the schema: a typo or a bad value is a config error naming the key.
  const auto typo = config::parse("type: synthetic\nsequence: 50\n", "spec.yaml");
  expect_error<Error>([&] { reg.create(typo, {.rng = &rng}, "data.dataset"); },
                      {"sequence", "did you mean 'sequences'"});
  const auto task = config::parse("type: synthetic\ntasks: [topic, genre]\n", "spec.yaml");
  expect_error<Error>([&] { reg.create(task, {.rng = &rng}, "data.dataset"); }, {"genre"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_synthetic_test
