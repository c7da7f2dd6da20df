#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/core/rng.h"
#include "framework/ops/embedding.h"

#include <tbb/task_arena.h>

#include <cstring>
#include <string>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

using attnlab::testing::expect_error;

Var random_table(std::int64_t rows, std::int64_t dim, std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(rows * dim));
  for (auto& x : v) x = rng.uniform(-1.f, 1.f);
  return Var(Tensor::from(v, {rows, dim}), true);
}

// The table gradient of one forward/backward on `threads` TBB threads.
std::vector<float> table_grad(int threads, const Tensor& ids, const Tensor& seed, std::int64_t padding_idx) {
  Var table = random_table(7, 96, 5);
  tbb::task_arena arena(threads);
  arena.execute([&] { ops::embedding(table, ids, padding_idx).backward(seed); });
  return table.grad().to_vector();
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(embedding)

BOOST_AUTO_TEST_CASE(out_of_range_ids_name_the_id_position_and_vocabulary) {
  Var table = random_table(5, 3, 1);
  const std::vector<std::int64_t> ids{0, 4, 2, 5, 1, 1};
  expect_error<IndexError>(
      [&] {
        ops::embedding(table, Tensor::from_i64(ids, {2, 3}));
      },
      {"embedding", "id 5", "position 3", "[0, 5)", "[2, 3]"});
  expect_error<IndexError>([&] { ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{-1}, {1})); },
                           {"embedding", "id -1", "position 0"});
  expect_error<IndexError>([&] { ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{0}, {1}), 5); },
                           {"embedding", "padding_idx 5"});
}

BOOST_AUTO_TEST_CASE(bad_types_and_shapes_are_typed_errors) {
  Var table = random_table(5, 3, 1);
  expect_error<DTypeError>(
      [&] {
        ops::embedding(table, Tensor::from(std::vector<float>{0, 1}, {2}));
      },
      {"embedding", "ids", "i64", "f32"});
  expect_error<DTypeError>(
      [&] {
        ops::embedding(Var(Tensor::zeros({5, 3}, core::DType::i64)),
                       Tensor::from_i64(std::vector<std::int64_t>{0}, {1}));
      },
      {"embedding", "table"});
  expect_error<ShapeError>(
      [&] { ops::embedding(Var(Tensor::zeros({15})), Tensor::from_i64(std::vector<std::int64_t>{0}, {1})); },
      {"embedding", "[15]", "[1]"});
}

BOOST_AUTO_TEST_CASE(output_shape_appends_the_embedding_dim) {
  Var table = random_table(5, 3, 1);
  BOOST_TEST(ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{1, 2, 3, 4, 0, 1}, {2, 3})).shape() ==
             (Shape{2, 3, 3}));
  BOOST_TEST(ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{4}, {})).shape() == (Shape{3}));
  BOOST_TEST(ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{}, {0, 4})).shape() == (Shape{0, 4, 3}));
}

BOOST_AUTO_TEST_CASE(padding_row_and_untouched_rows_get_zero_gradient) {
  Var table = random_table(4, 2, 3);
  Var y = ops::embedding(table, Tensor::from_i64(std::vector<std::int64_t>{2, 0, 2, 2}, {4}), 0);
  BOOST_TEST(y.value().to_vector()[2] == table.value().to_vector()[0]);  // padding rows are still gathered
  y.backward(Tensor::full(y.shape(), 1.f));
  BOOST_TEST(table.grad().to_vector() == (std::vector<float>{0, 0, 0, 0, 3, 3, 0, 0}));
}

BOOST_AUTO_TEST_CASE(backward_is_bitwise_deterministic_across_threads) {
  // Many repeats of few rows and widely spread values: any change of summation order would show
  // in the low bits. 4096 x 96 floats exceed the parallel threshold, so 2 threads really split it.
  core::Rng rng(77);
  std::vector<std::int64_t> ids(4096);
  for (auto& i : ids) i = static_cast<std::int64_t>(rng.below(7));
  std::vector<float> seed(ids.size() * 96);
  for (auto& s : seed) s = rng.uniform(-1.f, 1.f) * (rng.bernoulli(0.1f) ? 1e4f : 1e-3f);
  const Tensor id = Tensor::from_i64(ids, {64, 64});
  const Tensor gy = Tensor::from(seed, {64, 64, 96});

  const auto two_a = table_grad(2, id, gy, 3);
  const auto two_b = table_grad(2, id, gy, 3);
  const auto one = table_grad(1, id, gy, 3);
  BOOST_TEST(bitwise_equal(two_a, two_b));
  BOOST_TEST(bitwise_equal(two_a, one));

  // The sums are those of ascending positions, in f32.
  std::vector<float> want(7 * 96, 0.f);
  for (std::size_t p = 0; p < ids.size(); ++p)
    if (ids[p] != 3)
      for (std::size_t d = 0; d < 96; ++d) want[static_cast<std::size_t>(ids[p]) * 96 + d] += seed[p * 96 + d];
  BOOST_TEST(bitwise_equal(two_a, want));
}

BOOST_AUTO_TEST_SUITE_END()
