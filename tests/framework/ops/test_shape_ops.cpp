#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/shape_ops.h"

#include <numeric>
#include <string>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

using attnlab::testing::expect_error;

Var iota(Shape s, bool requires_grad = false) {
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  std::iota(v.begin(), v.end(), 0.f);
  return Var(Tensor::from(v, std::move(s)), requires_grad);
}

Var iota_i64(Shape s) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(s.numel()));
  std::iota(v.begin(), v.end(), std::int64_t{100});
  return Var(Tensor::from_i64(v, std::move(s)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops)

BOOST_AUTO_TEST_CASE(views_share_the_buffer) {
  Var x = iota({2, 3, 4});
  BOOST_TEST(ops::reshape(x, {4, -1}).value().shares_buffer(x.value()));
  BOOST_TEST(ops::flatten(x).value().shares_buffer(x.value()));
  BOOST_TEST(ops::unsqueeze(x, 1).value().shares_buffer(x.value()));
  BOOST_TEST(ops::squeeze(ops::unsqueeze(x, 3), 3).value().shares_buffer(x.value()));
  BOOST_TEST(!ops::permute(x, {0, 1, 2}).value().shares_buffer(x.value()));
  BOOST_TEST(ops::flatten(x).shape() == (Shape{2, 12}));
  BOOST_TEST(ops::unsqueeze(x, -1).shape() == (Shape{2, 3, 4, 1}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_and_axes_throw_shape_error) {
  Var x = iota({2, 3, 4});
  expect_error<ShapeError>([&] { ops::reshape(x, {5, -1}); }, {"reshape", "[2, 3, 4]", "[5, -1]"});
  expect_error<ShapeError>([&] { ops::reshape(x, {-1, -1}); }, {"reshape"});
  expect_error<ShapeError>([&] { ops::reshape(x, {-2, -12}); }, {"reshape", "[-2, -12]"});
  expect_error<ShapeError>([&] { ops::flatten(x, 3); }, {"flatten", "[2, 3, 4]"});
  expect_error<ShapeError>([&] { ops::unsqueeze(x, 4); }, {"unsqueeze", "[2, 3, 4]"});
  expect_error<ShapeError>([&] { ops::squeeze(x, 1); }, {"squeeze", "[2, 3, 4]", "size 3"});
  expect_error<ShapeError>([&] { ops::transpose(x, 0, 3); }, {"transpose", "[2, 3, 4]"});
}

BOOST_AUTO_TEST_CASE(bad_permutations_throw_shape_error) {
  Var x = iota({2, 3, 4});
  expect_error<ShapeError>([&] { ops::permute(x, {0, 1}); }, {"permute", "(0, 1)", "[2, 3, 4]"});
  expect_error<ShapeError>([&] { ops::permute(x, {0, 1, 1}); }, {"permute", "(0, 1, 1)"});
  expect_error<ShapeError>([&] { ops::permute(x, {0, 1, 3}); }, {"permute", "(0, 1, 3)"});
  expect_error<ShapeError>([&] { ops::permute(x, {0, 2, -1}); }, {"permute", "(0, 2, -1)"});
}

BOOST_AUTO_TEST_CASE(out_of_range_slices_throw_index_error) {
  Var x = iota({4, 5});
  expect_error<IndexError>([&] { ops::slice(x, 1, 0, 6); }, {"slice", "[0, 6)", "size 5", "[4, 5]"});
  expect_error<IndexError>([&] { ops::slice(x, 0, -5, 2); }, {"slice", "[-5, 2)"});
  expect_error<IndexError>([&] { ops::slice(x, 0, 3, 1); }, {"slice"});
  expect_error<ShapeError>([&] { ops::slice(x, 2, 0, 1); }, {"slice", "[4, 5]"});
  BOOST_TEST(ops::slice(x, 1, 2, 2).shape() == (Shape{4, 0}));
  BOOST_TEST(ops::slice(x, 1, -1, 5).value().to_vector() == (std::vector<float>{4, 9, 14, 19}));
}

BOOST_AUTO_TEST_CASE(concat_and_stack_mismatches_name_every_shape) {
  Var a = iota({2, 3}), b = iota({2, 4}), c = iota({3, 4});
  expect_error<ShapeError>([&] { ops::concat({a, b, c}, 1); }, {"concat", "[2, 3]", "[2, 4]", "[3, 4]"});
  expect_error<ShapeError>([&] { ops::concat({a, iota({2, 3, 1})}, 0); }, {"concat", "[2, 3]", "[2, 3, 1]"});
  expect_error<ShapeError>([&] { ops::concat({}, 0); }, {"concat"});
  expect_error<ShapeError>([&] { ops::concat({a, b}, 2); }, {"concat", "[2, 3]"});
  expect_error<DTypeError>([&] { ops::concat({a, iota_i64({2, 3})}, 0); }, {"concat", "f32", "i64"});
  expect_error<ShapeError>([&] { ops::stack({a, b}, 0); }, {"stack", "[2, 3]", "[2, 4]"});
  expect_error<ShapeError>([&] { ops::stack({a, a}, 3); }, {"stack", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(select_steps_checks_its_index) {
  Var x = iota({3, 4, 2});
  expect_error<IndexError>(
      [&] {
        ops::select_steps(x, Tensor::from_i64(std::vector<std::int64_t>{0, 4, 1}, {3}));
      },
      {"select_steps", "index 4", "row 1", "[0, 4)"});
  expect_error<IndexError>(
      [&] {
        ops::select_steps(x, Tensor::from_i64(std::vector<std::int64_t>{-1, 0, 1}, {3}));
      },
      {"select_steps", "index -1"});
  expect_error<DTypeError>(
      [&] {
        ops::select_steps(x, Tensor::from(std::vector<float>{0, 1, 2}, {3}));
      },
      {"select_steps", "i64", "f32"});
  expect_error<ShapeError>(
      [&] {
        ops::select_steps(x, Tensor::from_i64(std::vector<std::int64_t>{0, 1}, {2}));
      },
      {"select_steps", "[3, 4, 2]", "[2]"});
  expect_error<ShapeError>(
      [&] {
        ops::select_steps(iota({3}), Tensor::from_i64(std::vector<std::int64_t>{0, 1, 2}, {3}));
      },
      {"select_steps", "[3]"});
  Var y = ops::select_steps(x, Tensor::from_i64(std::vector<std::int64_t>{3, 0, 2}, {3}));
  BOOST_TEST(y.value().to_vector() == (std::vector<float>{6, 7, 8, 9, 20, 21}));
}

BOOST_AUTO_TEST_CASE(integer_tensors_are_rearranged_natively) {
  Var ids = iota_i64({2, 3});
  BOOST_TEST(ops::transpose(ids, 0, 1).value().to_vector_i64() ==
             (std::vector<std::int64_t>{100, 103, 101, 104, 102, 105}));
  BOOST_TEST(ops::concat({ids, ids}, 1).value().to_vector_i64() ==
             (std::vector<std::int64_t>{100, 101, 102, 100, 101, 102, 103, 104, 105, 103, 104, 105}));
  BOOST_TEST(ops::stack({ids, ids}, 0).shape() == (Shape{2, 2, 3}));
  BOOST_TEST(ops::slice(ids, 1, 1, 3).value().to_vector_i64() == (std::vector<std::int64_t>{101, 102, 104, 105}));
  BOOST_TEST(ops::select_steps(ids, Tensor::from_i64(std::vector<std::int64_t>{2, 0}, {2})).value().to_vector_i64() ==
             (std::vector<std::int64_t>{102, 103}));
}

BOOST_AUTO_TEST_CASE(zero_sized_inputs_are_handled) {
  Var e = iota({2, 0, 3}), x = iota({2, 2, 3});
  BOOST_TEST(ops::permute(e, {2, 0, 1}).shape() == (Shape{3, 2, 0}));
  BOOST_TEST(ops::concat({e, x, e}, 1).value().to_vector() == x.value().to_vector());
}

BOOST_AUTO_TEST_CASE(kernels_are_built_once_per_shape) {
  Var x = iota({3, 5, 7}, true);
  Var y = iota({2, 3, 7}, true);
  auto step = [&] {
    Var z = ops::concat({ops::permute(x, {2, 0, 1}), ops::transpose(y, 0, 2)}, 2);  // [7, 3, 5 + 2]
    z.backward(Tensor::full(z.shape(), 1.f));
  };
  step();
  const auto before = onednn::cache_stats().misses;
  step();
  step();
  BOOST_TEST(onednn::cache_stats().misses == before);
  BOOST_TEST(x.grad().to_vector() == std::vector<float>(105, 3.f));
}

BOOST_AUTO_TEST_CASE(large_copies_run_in_parallel_and_match_small_ones) {
  // 64 x 300 x 33 floats cross the parallel threshold of the native copies.
  Var x = iota({64, 300, 33}, true);
  Var s = ops::slice(x, 1, 10, -10);
  std::vector<std::int64_t> idx(64);
  for (std::size_t b = 0; b < idx.size(); ++b) idx[b] = static_cast<std::int64_t>(b * 7 % 300);
  Var p = ops::select_steps(x, Tensor::from_i64(idx, {64}));
  const auto sv = s.value().to_vector();
  const auto pv = p.value().to_vector();
  BOOST_TEST(sv[0] == 330.f);
  BOOST_TEST(sv.back() == static_cast<float>(63 * 9900 + 289 * 33 + 32));
  BOOST_TEST(pv[33 * 5 + 4] == static_cast<float>(5 * 9900 + 35 * 33 + 4));
  Var l = ops::concat({ops::flatten(s, 0), ops::flatten(p, 0)}, 0);
  l.backward(Tensor::full(l.shape(), 1.f));
  const auto g = x.grad().to_vector();
  BOOST_TEST(g[0] == 1.f);                   // b 0 selects step 0, outside the slice
  BOOST_TEST(g[5 * 33] == 0.f);              // neither sliced nor selected
  BOOST_TEST(g[330] == 1.f);                 // sliced only
  BOOST_TEST(g[2 * 9900 + 14 * 33] == 2.f);  // b 2 selects step 14, inside the slice
}

BOOST_AUTO_TEST_SUITE_END()
