#include <boost/test/unit_test.hpp>

#include "framework/ops/loss.h"

#include <cmath>

namespace attnlab::ops {
namespace {

using core::DType;
using core::Shape;
using core::Tensor;

Tensor logits(Shape s) {
  Tensor t = Tensor::empty(std::move(s));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = static_cast<float>((i * 5) % 11) * 0.3f - 1.5f;
  return t;
}

Tensor labels(std::vector<std::int64_t> v, Shape s) { return Tensor::from_i64(v, std::move(s)); }

bool mentions(const std::exception& e, std::initializer_list<const char*> parts) {
  const std::string m = e.what();
  for (const char* p : parts)
    if (m.find(p) == std::string::npos) return false;
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loss_ops)

BOOST_AUTO_TEST_CASE(cross_entropy_target_shape_mismatch_throws) {
  Var x(logits({4, 5}));
  BOOST_CHECK_EXCEPTION(softmax_cross_entropy(x, labels({0, 1, 2}, {3})), ShapeError, [](const ShapeError& e) {
    return mentions(e, {"softmax_cross_entropy", "[3]", "[4]", "[4, 5]"});
  });
  BOOST_CHECK_THROW(softmax_cross_entropy(x, labels({0, 1, 2, 3}, {4, 1})), ShapeError);
  BOOST_CHECK_THROW(softmax_cross_entropy(Var(Tensor::scalar(1.f)), labels({0}, {})), ShapeError);
  BOOST_CHECK_THROW(softmax_cross_entropy(x, Tensor::zeros({4})), DTypeError);
  BOOST_CHECK_THROW(softmax_cross_entropy(x, labels({0, 1, 2, 3}, {4}), -100, 1.5f), Error);
}

BOOST_AUTO_TEST_CASE(cross_entropy_out_of_range_label_names_position_and_classes) {
  Var x(logits({2, 3, 5}));
  BOOST_CHECK_EXCEPTION(softmax_cross_entropy(x, labels({0, 1, 2, 3, 4, 5}, {2, 3})), IndexError,
                        [](const IndexError& e) {
                          return e.op() == "softmax_cross_entropy" && mentions(e, {"target 5", "[1, 2]", "[0, 5)"});
                        });
  BOOST_CHECK_THROW(softmax_cross_entropy(x, labels({0, 1, -1, 3, 4, 0}, {2, 3})), IndexError);
  // -100 is ignored, not out of range; with another ignore_index it is.
  BOOST_CHECK_NO_THROW(softmax_cross_entropy(x, labels({0, 1, -100, 3, 4, 0}, {2, 3})));
  BOOST_CHECK_THROW(softmax_cross_entropy(x, labels({0, 1, -100, 3, 4, 0}, {2, 3}), 4), IndexError);
}

BOOST_AUTO_TEST_CASE(cross_entropy_with_every_target_ignored_is_zero_with_zero_gradient) {
  Var x(logits({3, 4}), true);
  Var loss = softmax_cross_entropy(x, labels({-100, -100, -100}, {3}));
  BOOST_TEST(loss.value().item() == 0.f);
  loss.backward();
  for (float g : x.grad().to_vector()) BOOST_TEST(g == 0.f);
}

BOOST_AUTO_TEST_CASE(cross_entropy_is_stable_and_same_without_grad) {
  Tensor t = logits({64, 1000});
  for (std::int64_t i = 0; i < t.numel(); i += 3) t.f32()[i] *= 1e4f;  // |logits| up to 1.5e4
  std::vector<std::int64_t> y(64);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<std::int64_t>((i * 37) % 1000);
  const Tensor target = labels(y, {64});
  Var x(t, true);
  const float with_grad = softmax_cross_entropy(x, target, -100, 0.1f).value().item();
  float without;
  {
    autograd::NoGrad ng;
    without = softmax_cross_entropy(x, target, -100, 0.1f).value().item();
  }
  BOOST_TEST(std::isfinite(with_grad));
  BOOST_TEST(with_grad == without);
}

BOOST_AUTO_TEST_CASE(elementwise_losses_check_shapes_and_types) {
  Var x(logits({3, 4}));
  BOOST_CHECK_EXCEPTION(bce_with_logits(x, Tensor::zeros({4, 3})), ShapeError, [](const ShapeError& e) {
    return mentions(e, {"bce_with_logits", "[4, 3]", "[3, 4]"});
  });
  BOOST_CHECK_THROW(bce_with_logits(x, Tensor::zeros({3, 4}), Tensor::zeros({12})), ShapeError);
  BOOST_CHECK_THROW(mse_loss(x, Tensor::zeros({3})), ShapeError);
  BOOST_CHECK_THROW(mse_loss(x, Tensor::zeros({3, 4}), Tensor::zeros({3, 4}, DType::i64)), DTypeError);
  BOOST_CHECK_THROW(mse_loss(x, Tensor::zeros({3, 4}, DType::i64)), DTypeError);
}

BOOST_AUTO_TEST_CASE(zero_weights_give_zero_loss_and_gradient) {
  Var x(logits({2, 5}), true);
  Var loss = mse_loss(x, Tensor::full({2, 5}, 3.f), Tensor::zeros({2, 5}));
  BOOST_TEST(loss.value().item() == 0.f);
  loss.backward();
  for (float g : x.grad().to_vector()) BOOST_TEST(g == 0.f);
}

BOOST_AUTO_TEST_CASE(bce_with_logits_is_stable_for_large_logits) {
  const std::vector<float> v{-200.f, -50.f, 50.f, 200.f};
  const std::vector<float> t{0.f, 1.f, 0.f, 1.f};
  const float loss = bce_with_logits(Var(Tensor::from(v, {4})), Tensor::from(t, {4})).value().item();
  BOOST_TEST(loss == (50.f + 50.f) / 4.f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::ops
