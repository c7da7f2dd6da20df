// matmul / linear behaviour beyond the generic op tiers: shape and dtype errors, kernel reuse,
// empty operands.
#include <boost/test/unit_test.hpp>

#include "framework/onednn/onednn.h"
#include "framework/ops/matmul.h"

#include <string>

namespace attnlab {
namespace {

using autograd::Var;
using core::Shape;
using core::Tensor;
using ops::Activation;

Var param(Shape s, float v = 0.5f) { return Var(Tensor::full(std::move(s), v), true); }

// True when the error's message names every one of `parts`.
template <class E>
auto names(std::vector<std::string> parts) {
  return [parts = std::move(parts)](const E& e) {
    const std::string what = e.what();
    for (const auto& p : parts)
      if (what.find(p) == std::string::npos) {
        BOOST_TEST_MESSAGE("missing '" << p << "' in: " << what);
        return false;
      }
    return true;
  };
}

BOOST_AUTO_TEST_SUITE(matmul_errors)

BOOST_AUTO_TEST_CASE(inner_dim_mismatch_names_both_shapes) {
  BOOST_CHECK_EXCEPTION(ops::matmul(param({2, 3}), param({4, 5})), ShapeError,
                        names<ShapeError>({"matmul", "[2, 3]", "[4, 5]"}));
  // Transposes change which dims must agree.
  BOOST_CHECK_NO_THROW(ops::matmul(param({3, 2}), param({5, 3}), true, true));
  BOOST_CHECK_EXCEPTION(ops::matmul(param({2, 3}), param({3, 5}), true, false), ShapeError,
                        names<ShapeError>({"[2, 3] (transposed)", "[3, 5]"}));
}

BOOST_AUTO_TEST_CASE(batch_mismatch) {
  BOOST_CHECK_EXCEPTION(ops::matmul(param({2, 3, 4}), param({3, 4, 5})), ShapeError,
                        names<ShapeError>({"batch", "[2, 3, 4]", "[3, 4, 5]"}));
  // Only b may be shared, and only at rank 2.
  BOOST_CHECK_THROW(ops::matmul(param({3, 4}), param({2, 4, 5})), ShapeError);
  BOOST_CHECK_THROW(ops::matmul(param({2, 2, 3, 4}), param({2, 4, 5})), ShapeError);
}

BOOST_AUTO_TEST_CASE(rank_below_two) {
  BOOST_CHECK_EXCEPTION(ops::matmul(param({3}), param({3, 4})), ShapeError,
                        names<ShapeError>({"rank", "[3]", "[3, 4]"}));
  BOOST_CHECK_THROW(ops::matmul(param({2, 3}), param({3})), ShapeError);
}

BOOST_AUTO_TEST_CASE(linear_shapes) {
  BOOST_CHECK_EXCEPTION(ops::linear(param({4, 6}), param({3, 6}), param({4})), ShapeError,
                        names<ShapeError>({"linear", "[4, 6]", "[3, 6]", "[4]"}));
  BOOST_CHECK_THROW(ops::linear(param({4, 6}), param({3, 6}), param({1, 3})), ShapeError);
  BOOST_CHECK_EXCEPTION(ops::linear(param({4, 5}), param({3, 6})), ShapeError, names<ShapeError>({"[4, 5]", "[3, 6]"}));
  BOOST_CHECK_THROW(ops::linear(param({4, 6}), param({6})), ShapeError);
  BOOST_CHECK_THROW(ops::linear(Var(Tensor::scalar(1.f)), param({1, 1})), ShapeError);
}

BOOST_AUTO_TEST_CASE(i64_inputs) {
  Var idx(Tensor::zeros({2, 3}, core::DType::i64));
  BOOST_CHECK_EXCEPTION(ops::matmul(idx, param({3, 4})), DTypeError, names<DTypeError>({"matmul", "i64", "[2, 3]"}));
  BOOST_CHECK_THROW(ops::matmul(param({4, 2}), idx), DTypeError);
  BOOST_CHECK_THROW(ops::linear(idx, param({4, 3})), DTypeError);
  BOOST_CHECK_THROW(ops::linear(param({2, 3}), param({4, 3}), Var(Tensor::zeros({4}, core::DType::i64))), DTypeError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(matmul_behaviour)

BOOST_AUTO_TEST_CASE(second_step_builds_no_kernel) {
  auto step = [] {
    Var x = param({3, 4, 5}), w = param({6, 5}), b = param({6}), m = param({3, 6, 4});
    Var y = ops::matmul(ops::linear(x, w, b, Activation::tanh), m, true, true);  // [3, 6, 6]
    y.backward(Tensor::full(y.shape(), 1.f));
  };
  step();
  const auto before = onednn::cache_stats();
  step();
  BOOST_TEST(onednn::cache_stats().misses == before.misses);
  BOOST_TEST(onednn::cache_stats().hits > before.hits);
}

BOOST_AUTO_TEST_CASE(gradient_only_where_needed) {
  Var a(Tensor::full({2, 3}, 1.f), false), b = param({3, 4});
  Var y = ops::matmul(a, b);
  y.backward(Tensor::full(y.shape(), 1.f));
  BOOST_TEST(!a.grad().defined());
  BOOST_TEST(b.grad().to_vector() == std::vector<float>(12, 2.f), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(linear_matches_hand_computed_values) {
  // x [1, 2] = (1, 2); w [2, 2] = ((1, -1), (2, 3)); b = (0.5, -10): pre-activations (-0.5, -2), relu -> 0.
  Var x(Tensor::from(std::vector<float>{1, 2}, {1, 2}), true);
  Var w(Tensor::from(std::vector<float>{1, -1, 2, 3}, {2, 2}), true);
  Var b(Tensor::from(std::vector<float>{0.5f, -10}, {2}), true);
  Var y = ops::linear(x, w, b);
  BOOST_TEST(y.value().to_vector() == std::vector<float>({-0.5f, -2.f}), boost::test_tools::per_element());
  Var r = ops::linear(x, w, b, Activation::relu);
  r.backward(Tensor::full(r.shape(), 1.f));
  BOOST_TEST(r.value().to_vector() == std::vector<float>({0.f, 0.f}), boost::test_tools::per_element());
  BOOST_TEST(w.grad().to_vector() == std::vector<float>(4, 0.f), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_operands) {
  // No rows: the output is empty and the weight gradient is zero.
  Var x = param({0, 3}), w = param({4, 3}), b = param({4});
  Var y = ops::linear(x, w, b, Activation::sigmoid);
  BOOST_TEST(y.shape() == (Shape{0, 4}));
  y.backward(Tensor::zeros(y.shape()));
  BOOST_TEST(w.grad().to_vector() == std::vector<float>(12, 0.f), boost::test_tools::per_element());
  BOOST_TEST(b.grad().to_vector() == std::vector<float>(4, 0.f), boost::test_tools::per_element());
  // Empty inner dim: the product is all zeros.
  Var a = param({2, 0}), c = param({0, 3});
  Var z = ops::matmul(a, c);
  BOOST_TEST(z.value().to_vector() == std::vector<float>(6, 0.f), boost::test_tools::per_element());
  // No inputs: relu(b) in every row.
  Var xb = param({2, 0}), wb = param({3, 0});
  Var bb(Tensor::from(std::vector<float>{-1, 0.5f, 2}, {3}), true);
  Var yb = ops::linear(xb, wb, bb, Activation::relu);
  BOOST_TEST(yb.value().to_vector() == std::vector<float>({0, 0.5f, 2, 0, 0.5f, 2}), boost::test_tools::per_element());
  yb.backward(Tensor::full(yb.shape(), 1.f));
  BOOST_TEST(bb.grad().to_vector() == std::vector<float>({0, 2, 2}), boost::test_tools::per_element());
  // An empty batch.
  Var e = ops::matmul(param({0, 2, 3}), param({2, 4}), true, false);
  BOOST_TEST(e.shape() == (Shape{0, 3, 4}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace attnlab
