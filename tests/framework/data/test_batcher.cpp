// make_batch (padding, mask, truncation, side tensors) and the Batcher (seeded per-epoch order,
// resume, drop_last, prefetch).
#include "framework/core/rng.h"
#include "framework/data/batcher.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnlab_batcher_test {

using namespace attnlab;
using attnlab::testing::expect_error;
using data::Batch;
using data::Batcher;
using data::DataError;
using I64s = std::vector<std::int64_t>;

/// tokens 1..9; example 0 = [0, 2) (tokens 1 2), 1 = [2, 9) (3..9), 2 = [4, 4) (empty).
data::Examples small() {
  data::Examples ex;
  ex.tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  ex.vocab = 10;
  ex.begin = {0, 2, 4};
  ex.end = {2, 9, 4};
  ex.users = {0, 1, 1};
  ex.num_users = 2;
  ex.targets = {5, 6, 7};
  ex.categorical_names = {"city", "device"};
  ex.categorical_cardinality = {3, 2};
  ex.categorical = {2, 1, 0, 0, 1, 1};
  ex.dense_names = {"age"};
  ex.dense = {0.5f, 1.5f, 2.5f};
  ex.labels.push_back({.task = "cls", .kind = data::LabelKind::kClass, .classes = 4, .ids = {3, -1, 0}});
  ex.labels.push_back(
      {.task = "ctr", .kind = data::LabelKind::kBinary, .classes = 0, .ids = {}, .values = {1, 0, NAN}});
  return ex;
}

/// n examples, example i = the single token i + 1.
data::Examples singles(std::int64_t n) {
  data::Examples ex;
  ex.vocab = n + 1;
  for (std::int64_t i = 0; i < n; ++i) {
    ex.tokens.push_back(i + 1);
    ex.begin.push_back(i);
    ex.end.push_back(i + 1);
  }
  return ex;
}

/// Every batch of the current epoch, as the rows of each.
std::vector<I64s> drain(Batcher& b) {
  std::vector<I64s> out;
  while (auto batch = b.next()) out.push_back(batch->rows);
  return out;
}
I64s flat(const std::vector<I64s>& batches) {
  I64s r;
  for (const auto& b : batches) r.insert(r.end(), b.begin(), b.end());
  return r;
}

}  // namespace attnlab_batcher_test

using namespace attnlab_batcher_test;

BOOST_AUTO_TEST_SUITE(batcher)

BOOST_AUTO_TEST_CASE(make_batch_left_pads_truncates_and_gathers) {
  const auto ex = small();
  const I64s rows{1, 0, 2};
  const Batch b = data::make_batch(ex, rows, 4);
  BOOST_TEST(b.size() == 3);
  BOOST_TEST(b.rows == rows);
  BOOST_TEST(b.ids.shape().str() == "[3, 4]");
  // Row 1's seven tokens truncated to the last four; row 0's two right-aligned; row 2 all padding.
  BOOST_TEST(b.ids.to_vector_i64() == (I64s{6, 7, 8, 9,  //
                                            0, 0, 1, 2,  //
                                            0, 0, 0, 0}));
  BOOST_TEST(b.mask.to_vector() == (std::vector<float>{1, 1, 1, 1,  //
                                                       0, 0, 1, 1,  //
                                                       0, 0, 0, 0}));
  BOOST_TEST(!b.steps.defined());
  BOOST_TEST(b.users.to_vector_i64() == (I64s{1, 0, 1}));
  BOOST_TEST(b.targets.to_vector_i64() == (I64s{6, 5, 7}));
  BOOST_TEST(b.categorical.shape().str() == "[3, 2]");
  BOOST_TEST(b.categorical.to_vector_i64() == (I64s{0, 0, 2, 1, 1, 1}));
  BOOST_TEST(b.dense.shape().str() == "[3, 1]");
  BOOST_TEST(b.dense.to_vector() == (std::vector<float>{1.5f, 0.5f, 2.5f}));
  BOOST_TEST_REQUIRE(b.labels.size() == 2u);
  BOOST_TEST(b.labels[0].to_vector_i64() == (I64s{-1, 3, 0}));
  const auto ctr = b.labels[1].to_vector();
  BOOST_TEST(ctr[0] == 0.0f);
  BOOST_TEST(ctr[1] == 1.0f);
  BOOST_TEST(std::isnan(ctr[2]));

  // seq_len longer than every history: all padding on the left.
  const I64s one{0};
  BOOST_TEST(data::make_batch(ex, one, 5).ids.to_vector_i64() == (I64s{0, 0, 0, 1, 2}));
}

// data.padding: batch. Histories of 2 and 7 steps with seq_len 20: padded to 8 (the longest, rounded
// up to a multiple of kTrimStep), exactly the last 8 columns of the batch padded to 20.
BOOST_AUTO_TEST_CASE(make_batch_trims_to_the_batch_own_length) {
  const auto ex = small();
  const I64s rows{0, 1, 2};
  const Batch full = data::make_batch(ex, rows, data::BatchOptions{.seq_len = 20});
  const Batch trimmed = data::make_batch(ex, rows, data::BatchOptions{.seq_len = 20, .trim = true});
  BOOST_TEST(trimmed.ids.shape().str() == "[3, 8]");
  const auto f = full.ids.to_vector_i64();
  const auto fm = full.mask.to_vector();
  I64s last8;
  std::vector<float> last8_mask;
  for (int r = 0; r < 3; ++r)
    for (int t = 12; t < 20; ++t) {
      last8.push_back(f[static_cast<std::size_t>(r * 20 + t)]);
      last8_mask.push_back(fm[static_cast<std::size_t>(r * 20 + t)]);
    }
  BOOST_TEST(trimmed.ids.to_vector_i64() == last8, boost::test_tools::per_element());
  BOOST_TEST(trimmed.mask.to_vector() == last8_mask, boost::test_tools::per_element());
  // Short rows only: the step; never beyond seq_len; a mask step counts as one more.
  const I64s short_rows{0, 2};
  BOOST_TEST(data::make_batch(ex, short_rows, {.seq_len = 20, .trim = true}).ids.shape().str() == "[2, 8]");
  BOOST_TEST(data::make_batch(ex, rows, {.seq_len = 5, .trim = true}).ids.shape().str() == "[3, 5]");
  const I64s seven{1};
  BOOST_TEST(data::make_batch(ex, seven, {.seq_len = 20, .append_mask = true, .trim = true}).ids.shape().str() ==
             "[1, 8]");
  BOOST_TEST(data::make_batch(ex, seven, {.seq_len = 9, .append_mask = false, .trim = true}).ids.shape().str() ==
             "[1, 8]");
}

// The true informative positions move with the steps: truncation drops those cut from the front,
// left padding shifts the rest; a probe's truth is then where the batch put it.
BOOST_AUTO_TEST_CASE(make_batch_places_the_true_positions_as_it_pads) {
  auto ex = small();
  // Example 0 (tokens 1 2): truth at its step 1; example 1 (3..9): steps 0, 2 and 5; example 2: none.
  ex.truth_offsets = {0, 1, 4, 4};
  ex.truth = {1, 0, 2, 5};
  const Batch b = data::make_batch(ex, I64s{1, 0, 2}, 4);
  // Row 0 = example 1, its last 4 of 7 steps (3 cut): steps 0 and 2 are gone, step 5 sits at 2.
  // Row 1 = example 0, padded by 2: step 1 sits at 3. Row 2: nothing.
  BOOST_TEST(b.truth_offsets == (I64s{0, 1, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(b.truth == (I64s{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(b.ids.to_vector_i64()[2] == 8);  // the token at row 0's truth: example 1's step 5
  BOOST_TEST(data::make_batch(small(), I64s{0}, 4).truth_offsets.empty());  // no truth recorded: none
}

BOOST_AUTO_TEST_CASE(make_batch_without_side_data_leaves_tensors_undefined) {
  const auto ex = singles(3);
  const I64s rows{2};
  const Batch b = data::make_batch(ex, rows, 2);
  BOOST_TEST(b.ids.to_vector_i64() == (I64s{0, 3}));
  BOOST_TEST(!b.users.defined());
  BOOST_TEST(!b.targets.defined());
  BOOST_TEST(!b.categorical.defined());
  BOOST_TEST(!b.dense.defined());
  BOOST_TEST(b.labels.empty());
}

BOOST_AUTO_TEST_CASE(make_batch_dense_steps) {
  // step_dim 2, positions p = 0..3 with features (10p, 10p + 1); example 0 = [0, 3), 1 = [3, 4).
  data::Examples ex;
  ex.step_dim = 2;
  ex.step_values = {0, 1, 10, 11, 20, 21, 30, 31};
  ex.begin = {0, 3};
  ex.end = {3, 4};
  const I64s rows{0, 1};
  const Batch b = data::make_batch(ex, rows, 2);
  BOOST_TEST(!b.ids.defined());
  BOOST_TEST(b.steps.shape().str() == "[2, 2, 2]");
  BOOST_TEST(b.steps.to_vector() == (std::vector<float>{10, 11, 20, 21,  //
                                                        0, 0, 30, 31}));
  BOOST_TEST(b.mask.to_vector() == (std::vector<float>{1, 1, 0, 1}));
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_data_errors) {
  const auto ex = singles(4);
  const I64s rows{0, 1};
  expect_error<DataError>([&] { data::make_batch(ex, rows, 0); }, {"make_batch", "seq_len 0 must be >= 1"});
  expect_error<DataError>([&] { data::make_batch(ex, I64s{}, 3); }, {"make_batch", "no rows"});
  expect_error<DataError>([&] { data::make_batch(ex, I64s{1, 4}, 3); }, {"rows[1] = 4", "4 examples"});
  expect_error<DataError>([&] { Batcher b(ex, {0, 1}, {.batch_size = 2, .seq_len = 0}); }, {"batcher", "seq_len 0"});
  expect_error<DataError>([&] { Batcher b(ex, {0, 1}, {.batch_size = 0, .seq_len = 1}); }, {"batcher", "batch_size 0"});
  expect_error<DataError>(
      [&] {
        Batcher b(ex, {0, -1}, {.batch_size = 1, .seq_len = 1});
      },
      {"batcher", "rows[1] = -1"});
  Batcher b(ex, {0, 1, 2}, {.batch_size = 2, .seq_len = 1});
  expect_error<DataError>([&] { b.start_epoch(0, 3); }, {"position 3", "[0, 2]"});
  expect_error<DataError>([&] { b.start_epoch(-1); }, {"epoch -1"});
}

BOOST_AUTO_TEST_CASE(every_row_once_per_epoch_and_drop_last) {
  const auto ex = singles(30);
  I64s rows;
  for (std::int64_t i = 0; i < 30; i += 2) rows.push_back(i);  // 15 rows
  Batcher b(ex, rows, {.batch_size = 4, .seq_len = 1, .seed = 7});
  BOOST_TEST(b.batches_per_epoch() == 4);
  for (std::int64_t e = 0; e < 3; ++e) {
    b.start_epoch(e);
    const auto batches = drain(b);
    BOOST_TEST(batches.size() == 4u);
    BOOST_TEST(batches.back().size() == 3u);
    BOOST_TEST(b.position() == 4);
    BOOST_TEST(b.epoch() == e);
    auto all = flat(batches);
    std::sort(all.begin(), all.end());
    BOOST_TEST(all == rows);
    BOOST_TEST(!b.next().has_value());
  }
  Batcher d(ex, rows, {.batch_size = 4, .seq_len = 1, .seed = 7, .drop_last = true});
  BOOST_TEST(d.batches_per_epoch() == 3);
  const auto batches = drain(d);
  BOOST_TEST(batches.size() == 3u);
  auto all = flat(batches);
  std::sort(all.begin(), all.end());
  BOOST_TEST((std::adjacent_find(all.begin(), all.end()) == all.end()));
  BOOST_TEST(all.size() == 12u);
}

BOOST_AUTO_TEST_CASE(the_order_is_a_seeded_fisher_yates_per_epoch) {
  const auto ex = singles(20);
  I64s rows(20);
  std::iota(rows.begin(), rows.end(), 0);
  auto order = [&](std::uint64_t seed, std::int64_t epoch, bool shuffle = true) {
    Batcher b(ex, rows, {.batch_size = 3, .seq_len = 1, .shuffle = shuffle, .seed = seed});
    b.start_epoch(epoch);
    return flat(drain(b));
  };
  // The documented contract: Fisher–Yates from the back with core::Rng(seed).fork(epoch).below(i + 1).
  I64s want = rows;
  core::Rng rng = core::Rng(5).fork(2);
  for (std::size_t i = want.size() - 1; i > 0; --i) std::swap(want[i], want[rng.below(i + 1)]);
  BOOST_TEST(order(5, 2) == want);
  BOOST_TEST(order(5, 2) == order(5, 2));
  BOOST_TEST(order(5, 2) != order(5, 3));
  BOOST_TEST(order(5, 2) != order(6, 2));
  BOOST_TEST(order(5, 2, false) == rows);
  BOOST_TEST(order(5, 3, false) == rows);

  // Without start_epoch the Batcher is at the start of epoch 0.
  Batcher fresh(ex, rows, {.batch_size = 3, .seq_len = 1, .seed = 5});
  BOOST_TEST(fresh.epoch() == 0);
  BOOST_TEST(flat(drain(fresh)) == order(5, 0));
}

BOOST_AUTO_TEST_CASE(resume_from_epoch_and_position) {
  const auto ex = singles(23);
  I64s rows(23);
  std::iota(rows.begin(), rows.end(), 0);
  const Batcher::Options opt{.batch_size = 4, .seq_len = 1, .seed = 11};
  Batcher full(ex, rows, opt);
  full.start_epoch(3);
  const auto all = drain(full);
  BOOST_TEST(all.size() == 6u);

  Batcher resumed(ex, rows, opt);
  resumed.start_epoch(1);  // consume part of another epoch first
  resumed.next();
  resumed.start_epoch(3, 4);
  BOOST_TEST(resumed.position() == 4);
  const auto rest = drain(resumed);
  BOOST_TEST(rest == std::vector<I64s>(all.begin() + 4, all.end()));

  Batcher at_end(ex, rows, opt);
  at_end.start_epoch(3, 6);
  BOOST_TEST(!at_end.next().has_value());
}

BOOST_AUTO_TEST_CASE(prefetch_gives_identical_batches_in_any_arena) {
  auto ex = small();
  // Make more examples: 40 copies of the three ranges, with distinct users.
  data::Examples big;
  big.tokens = ex.tokens;
  big.vocab = ex.vocab;
  big.num_users = 40;
  for (std::int64_t i = 0; i < 40; ++i) {
    big.begin.push_back(ex.begin[static_cast<std::size_t>(i % 3)]);
    big.end.push_back(ex.end[static_cast<std::size_t>(i % 3)]);
    big.users.push_back(i);
  }
  I64s rows(40);
  std::iota(rows.begin(), rows.end(), 0);
  auto run = [&](bool prefetch) {
    std::vector<std::pair<I64s, I64s>> out;  // (ids, users) of every batch of epochs 0..2
    Batcher b(big, rows, {.batch_size = 6, .seq_len = 5, .seed = 3, .prefetch = prefetch});
    for (std::int64_t e = 0; e < 3; ++e) {
      b.start_epoch(e);
      while (auto batch = b.next()) out.emplace_back(batch->ids.to_vector_i64(), batch->users.to_vector_i64());
    }
    return out;
  };
  const auto plain = run(false);
  BOOST_TEST(plain.size() == 21u);
  BOOST_TEST((run(true) == plain));
  for (int slots : {1, 2}) {
    tbb::task_arena arena(slots);
    arena.execute([&] { BOOST_TEST((run(true) == plain), "arena of " << slots); });
  }
  // Destroyed with a prefetch in flight: the destructor waits for it.
  for (int k = 0; k < 20; ++k) {
    Batcher b(big, rows, {.batch_size = 6, .seq_len = 5, .seed = 3});
    b.start_epoch(k);
    b.next();
  }
}

BOOST_AUTO_TEST_SUITE_END()
