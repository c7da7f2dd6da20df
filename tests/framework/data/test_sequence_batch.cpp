// Sequence and cloze batches (framework/data/sequence_batch.h): grouping a split's next-item examples
// by sequence, the label every position carries, truncation, seen items, and the cloze masks
// (count, positions, labels, seeding, and their statistics over many draws).
#include "framework/data/sequence_batch.h"
#include "framework/data/sequences.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

namespace attnlab_sequence_batch_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using data::DataError;
using I64s = std::vector<std::int64_t>;

/// Two users: u0 saw items a b c d e (ids 1..5), u1 saw f g h (ids 6..8). next_item_examples with
/// min_history 1: u0's examples 0..3 = histories [a], [a b], [a b c], [a b c d] with labels b c d e;
/// u1's examples 4, 5 = [f], [f g] with labels g h.
data::Examples two_users() {
  const std::vector<std::string_view> users{"u0", "u0", "u0", "u0", "u0", "u1", "u1", "u1"};
  const std::vector<std::string_view> items{"a", "b", "c", "d", "e", "f", "g", "h"};
  return data::next_item_examples(data::make_sequences(users, items, {}, {}), 1, "test");
}

I64s ids_of(const core::Tensor& t) {
  const auto* p = t.i64();
  return I64s(p, p + t.numel());
}

BOOST_AUTO_TEST_SUITE(sequence_batch)

BOOST_AUTO_TEST_CASE(groups_are_sequences_in_order_of_their_first_row) {
  const auto ex = two_users();
  BOOST_REQUIRE(ex.sequence_begin == (I64s{0, 0, 0, 0, 5, 5}));
  const auto g = data::group_sequences(ex, I64s{5, 2, 0, 4, 1}, "test");
  BOOST_TEST(g.size() == 2);
  BOOST_TEST(g.offsets == (I64s{0, 3, 5}), boost::test_tools::per_element());
  BOOST_TEST(g.rows == (I64s{0, 1, 2, 4, 5}), boost::test_tools::per_element());  // ascending end within a group
  BOOST_TEST(g.longest(0) == 2);
  BOOST_TEST(g.longest(1) == 5);

  data::Examples alone = ex;
  alone.sequence_begin.clear();  // without sequence starts every example is its own sequence
  BOOST_TEST(data::group_sequences(alone, I64s{3, 1}, "test").size() == 2);

  data::Examples broken = ex;
  broken.end[1] = broken.end[0];  // two examples of one sequence ending at the same step
  expect_error<DataError>(
      [&] {
        data::group_sequences(broken, I64s{0, 1}, "objective x");
      },
      {"objective x", "end at the same step", "keep: first"});
  expect_error<DataError>([&] { data::group_sequences(ex, I64s{0, 6}, "objective x"); }, {"rows[1] = 6", "6 examples"});
  data::Examples images = ex;
  images.step_dim = 2;
  expect_error<DataError>([&] { data::group_sequences(images, I64s{0}, "objective x"); }, {"dense steps"});
}

BOOST_AUTO_TEST_CASE(every_position_carries_the_label_of_the_example_ending_there) {
  auto ex = two_users();
  ex.labels.push_back({.task = "liked", .kind = data::LabelKind::kBinary, .values = {1, 0, 1, 0, 1, 0}});
  // The training split as leave-one-out would make it without the last two examples of u0 (valid
  // and test): u0 trains on examples 0, 1 (labels b c), u1 on 4 (label g).
  const auto g = data::group_sequences(ex, I64s{0, 1, 4}, "test");
  const auto windows = data::sequence_windows(g, 0);
  BOOST_REQUIRE(windows.size() == 2u);
  const auto b = data::make_sequence_batch(ex, g, windows, {.seq_len = 4, .append_mask = false, .seen = true});
  BOOST_TEST(b.rows == (I64s{1, 4}), boost::test_tools::per_element());
  BOOST_TEST(ids_of(b.ids) == (I64s{0, 0, 1, 2, 0, 0, 0, 6}), boost::test_tools::per_element());
  BOOST_TEST(b.mask.to_vector() == (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_REQUIRE(b.labels.size() == 2u);
  BOOST_TEST(b.labels[0].shape() == (core::Shape{2, 4}));
  BOOST_TEST(ids_of(b.labels[0]) == (I64s{-1, -1, 2, 3, -1, -1, -1, 7}), boost::test_tools::per_element());
  const auto liked = b.labels[1].to_vector();
  BOOST_TEST(liked[2] == 1.f);
  BOOST_TEST(liked[3] == 0.f);
  BOOST_TEST(liked[7] == 1.f);
  for (const int i : {0, 1, 4, 5, 6}) BOOST_TEST(std::isnan(liked[static_cast<std::size_t>(i)]));
  // Seen: the whole history and every label of the group (u0: a b c, u1: f g).
  BOOST_TEST(b.seen_offsets == (I64s{0, 3, 5}), boost::test_tools::per_element());
  BOOST_TEST(b.seen_items == (I64s{1, 2, 3, 6, 7}), boost::test_tools::per_element());
  BOOST_TEST(b.users.defined());
}

BOOST_AUTO_TEST_CASE(truncation_keeps_the_labels_of_the_visible_positions_and_seen_items_of_the_whole_sequence) {
  auto ex = two_users();
  for (std::size_t i = 0; i < 4; ++i)
    ex.begin[i] = std::max(ex.begin[i], ex.end[i] - 2);  // pad_truncate max_len 2, keep last
  ex.validate("test");
  const auto g = data::group_sequences(ex, I64s{0, 1, 2, 3}, "test");
  const auto last = data::sequence_windows(g, 0);
  const auto b = data::make_sequence_batch(ex, g, last, {.seq_len = 2, .append_mask = false, .seen = false});
  BOOST_TEST(ids_of(b.ids) == (I64s{3, 4}), boost::test_tools::per_element());  // the last 2 steps of a b c d
  BOOST_TEST(ids_of(b.labels[0]) == (I64s{4, 5}), boost::test_tools::per_element());
  BOOST_TEST(b.seen_offsets.empty());
  BOOST_TEST(data::labelled_examples(ex, g, last, 2) == 2);  // examples 0 and 1 fall before the window
  // Windows of 2 targets from the last: {2, 3} then {0, 1}, each example labelled once.
  const auto cut = data::sequence_windows(g, 2);
  BOOST_REQUIRE(cut.size() == 2u);
  BOOST_TEST(data::labelled_examples(ex, g, cut, 2) == 4);
  const auto both = data::make_sequence_batch(ex, g, cut, {.seq_len = 2, .append_mask = false, .seen = false});
  BOOST_TEST(ids_of(both.ids) == (I64s{3, 4, 1, 2}), boost::test_tools::per_element());  // c d | a b
  BOOST_TEST(ids_of(both.labels[0]) == (I64s{4, 5, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(both.rows == (I64s{3, 1}), boost::test_tools::per_element());
  // Sampled negatives avoid the whole sequence, not only the window: a b c d and the labels.
  const auto seen = data::make_sequence_batch(ex, g, last, {.seq_len = 2, .append_mask = false, .seen = true});
  BOOST_TEST(seen.seen_items == (I64s{1, 2, 3, 4, 5}), boost::test_tools::per_element());
  const auto eval = data::make_batch(ex, I64s{3}, {.seq_len = 2, .append_mask = false, .seen = true});
  BOOST_TEST(ids_of(eval.ids) == (I64s{3, 4}), boost::test_tools::per_element());
  BOOST_TEST(eval.seen_items == (I64s{1, 2, 3, 4, 5}), boost::test_tools::per_element());
  ex.sequence_begin[2] = ex.begin[2] + 1;  // a sequence cannot start inside the history
  BOOST_CHECK_THROW(ex.validate("test"), DataError);
  const std::vector<data::SequenceWindow> outside{{.group = 1, .first = 0, .last = 0}};
  expect_error<DataError>(
      [&] { data::make_sequence_batch(ex, g, outside, {.seq_len = 2, .append_mask = false, .seen = false}); },
      {"window 0 (group 1", "1 sequences"});
}

BOOST_AUTO_TEST_CASE(a_mask_step_follows_the_history_for_cloze_evaluation) {
  const auto ex = two_users();
  const auto b = data::make_batch(ex, I64s{3, 4}, {.seq_len = 3, .append_mask = true, .seen = true});
  BOOST_TEST(ids_of(b.ids) == (I64s{3, 4, 0, 0, 6, 0}), boost::test_tools::per_element());  // c d [mask], _ f [mask]
  BOOST_TEST(b.mask.to_vector() == (std::vector<float>{1, 1, 1, 0, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(b.masked.to_vector() == (std::vector<float>{0, 0, 1, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(b.seen_offsets == (I64s{0, 5, 7}), boost::test_tools::per_element());  // a b c d + label e; f + label g
  BOOST_TEST(b.seen_items == (I64s{1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
  expect_error<DataError>([&] { data::make_batch(ex, I64s{0}, {.seq_len = 1, .append_mask = true, .seen = false}); },
                          {"seq_len >= 2"});
}

BOOST_AUTO_TEST_CASE(cloze_masks_round_l_times_p_steps_and_labels_exactly_those) {
  const auto ex = two_users();
  const auto g = data::group_sequences(ex, I64s{0, 1, 2, 3, 4, 5}, "test");
  const data::BatchOptions o{.seq_len = 6, .append_mask = false, .seen = false};
  const auto b = data::make_cloze_batch(ex, g, I64s{0, 1}, o, {.mask_prob = 0.4, .seed = 9});
  // Row 0 holds u0's whole sequence a..e (5 steps: round(2.0) = 2 masked), row 1 f g h (round(1.2) = 1).
  const I64s full{0, 1, 2, 3, 4, 5, 0, 0, 0, 6, 7, 8};
  const auto ids = ids_of(b.ids), labels = ids_of(b.labels[0]);
  const auto masked = b.masked.to_vector(), mask = b.mask.to_vector();
  int count0 = 0, count1 = 0;
  for (std::size_t i = 0; i < full.size(); ++i) {
    BOOST_TEST(mask[i] == (full[i] > 0 ? 1.f : 0.f));  // masked steps stay real steps
    if (masked[i] == 1.f) {
      BOOST_TEST(ids[i] == 0);
      BOOST_TEST(labels[i] == full[i]);
      BOOST_TEST(full[i] > 0);
      (i < 6 ? count0 : count1) += 1;
    } else {
      BOOST_TEST(ids[i] == full[i]);
      BOOST_TEST(labels[i] == -1);
    }
  }
  BOOST_TEST(count0 == 2);
  BOOST_TEST(count1 == 1);
  // The same seed gives the same masks; a sequence's masks do not depend on its batch neighbours.
  const auto again = data::make_cloze_batch(ex, g, I64s{1}, o, {.mask_prob = 0.4, .seed = 9});
  const auto m1 = again.masked.to_vector();
  BOOST_TEST(std::equal(m1.begin(), m1.end(), masked.begin() + 6));
  // Non-item label columns are missing everywhere.
  auto with_value = ex;
  with_value.labels.push_back({.task = "rating", .kind = data::LabelKind::kValue, .values = {1, 2, 3, 4, 5, 6}});
  const auto v = data::make_cloze_batch(with_value, g, I64s{0}, o, {.mask_prob = 0.4, .seed = 9});
  for (const float x : v.labels[1].to_vector()) BOOST_TEST(std::isnan(x));
}

BOOST_AUTO_TEST_CASE(cloze_masks_are_uniform_over_steps_with_rate_p) {
  // 40 items in one sequence (39 examples), p = 0.25: 10 of the 40 steps masked per draw. Over 2000
  // seeds every step is masked with frequency 0.25 (binomial std 0.0097: 5 std = 0.05).
  std::vector<std::string_view> users(40, "u"), items;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back(fmt::format("i{}", i));
  for (const auto& n : names) items.push_back(n);
  const auto ex = data::next_item_examples(data::make_sequences(users, items, {}, {}), 1, "test");
  I64s all(static_cast<std::size_t>(ex.size()));
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
  const auto g = data::group_sequences(ex, all, "test");
  std::vector<double> freq(40, 0.0);
  const int draws = 2000;
  for (int seed = 0; seed < draws; ++seed) {
    const auto b = data::make_cloze_batch(ex, g, I64s{0}, {.seq_len = 40, .append_mask = false, .seen = false},
                                          {.mask_prob = 0.25, .seed = static_cast<std::uint64_t>(seed)});
    const auto m = b.masked.to_vector();
    double count = 0;
    for (std::size_t t = 0; t < 40; ++t) {
      freq[t] += m[t] / draws;
      count += m[t];
    }
    BOOST_TEST(count == 10.0);
  }
  for (std::size_t t = 0; t < 40; ++t)
    BOOST_TEST(freq[t] == 0.25, boost::test_tools::tolerance(0.2));  // relative: +-0.05
}

BOOST_AUTO_TEST_CASE(cloze_needs_next_item_sequences) {
  auto ex = two_users();
  ex.labels[0].ids[1] = 8;  // example 1's label is no longer the token after its history
  const auto g = data::group_sequences(ex, I64s{0, 1}, "test");
  expect_error<DataError>(
      [&] { data::make_cloze_batch(ex, g, I64s{0}, {.seq_len = 4, .append_mask = false, .seen = false}, {}); },
      {"make_cloze_batch", "not the token after its history"});
  expect_error<DataError>(
      [&] {
        data::make_cloze_batch(ex, g, I64s{0}, {.seq_len = 4, .append_mask = false, .seen = false},
                               {.mask_prob = 0, .seed = 0});
      },
      {"mask_prob 0"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_sequence_batch_test
