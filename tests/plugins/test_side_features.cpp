// Side features join the pooled sequence: they change the predictions, receive gradients, and a
// model that expects them refuses a batch without them.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/experiment/spec.h"
#include "framework/model/model.h"
#include "tests/support/expect.h"

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

model::ModelSection section() {
  return config::bind_or_throw<model::ModelSection>(config::parse(
      "embedding: 4\nside_categorical: [3, 5]\nside_embedding: 2\nside_dense: 2\n"
      "extractor: {type: identity}\nattention: {type: none}\npooling: {type: mean}\nhead: {type: classification}\n",
      "side.yaml"));
}

/// ids with side features: categorical [[0, second_feature], [2, 1]], dense [[0.5, -1], [2, 0]].
data::ModelInput side(const Tensor& ids, std::int64_t second_feature) {
  return {.tokens = ids,
          .categorical = Tensor::from_i64(std::vector<std::int64_t>{0, second_feature, 2, 1}, Shape{2, 2}),
          .dense = Tensor::from(std::vector<float>{0.5f, -1.f, 2.f, 0.f}, Shape{2, 2})};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(side_features)

BOOST_AUTO_TEST_CASE(side_features_change_predictions_and_get_gradients) {
  core::Rng rng(9);
  model::ModelDims dims;
  dims.vocab = 10;
  dims.seq_len = 3;
  dims.num_outputs = 4;
  model::Model model(section(), dims, rng);
  const Tensor ids = Tensor::from_i64(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Var a = model.forward(side(ids, 4)).at(0);
  const Var b = model.forward(side(ids, 0)).at(0);
  BOOST_TEST(a.shape() == (Shape{2, 4}));
  const auto va = a.value().to_vector(), vb = b.value().to_vector();
  BOOST_TEST(std::equal(va.begin() + 4, va.end(), vb.begin() + 4));  // sample 1 keeps its features
  BOOST_TEST(!std::equal(va.begin(), va.begin() + 4, vb.begin()));   // sample 0's second feature changed
  model.backward(model.losses({a}, {Tensor::from_i64(std::vector<std::int64_t>{1, 3}, Shape{2})}));
  bool side_grad = false;
  for (const auto& [name, v] : model.named_params())
    if (name.starts_with("side_1.") && v.grad().defined())
      for (float g : v.grad().to_vector()) side_grad = side_grad || g != 0.f;
  BOOST_TEST(side_grad);
}

BOOST_AUTO_TEST_CASE(missing_or_misshapen_side_features_are_shape_errors) {
  core::Rng rng(10);
  model::ModelDims dims;
  dims.vocab = 10;
  dims.seq_len = 3;
  dims.num_outputs = 4;
  model::Model model(section(), dims, rng);
  const Tensor ids = Tensor::zeros(Shape{2, 3}, core::DType::i64);
  testing::expect_error<ShapeError>([&] { model.forward({.tokens = ids}); }, {"side categorical", "[2, 2]"});
  auto s = side(ids, 1);
  s.dense = Tensor::zeros(Shape{2, 3});
  testing::expect_error<ShapeError>([&] { model.forward(s); }, {"side dense", "[2, 2]", "[2, 3]"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(length_changing_extractor)

BOOST_AUTO_TEST_CASE(cnn2d_feeds_later_stages_its_own_sequence_length) {
  // 8 steps of width 8 are an 8x8 image; two conv+pool layers leave 2x2 = 4 positions of 32 channels.
  const auto section = config::bind_or_throw<model::ModelSection>(
      config::parse("embedding: 8\nextractor: {type: cnn2d}\nattention: {type: seed_self}\npooling: {type: "
                    "flatten}\nhead: {type: classification}\n",
                    "cnn2d.yaml"));
  core::Rng rng(11);
  model::ModelDims dims;
  dims.vocab = 10;
  dims.seq_len = 8;
  dims.num_outputs = 3;
  model::Model model(section, dims, rng);
  const Tensor ids = Tensor::from_i64(std::vector<std::int64_t>(16, 2), Shape{2, 8});
  Var logits = model.forward({.tokens = ids, .mask = Tensor::full(Shape{2, 8}, 1.f)}).at(0);
  BOOST_TEST(logits.shape() == (Shape{2, 3}));
  BOOST_TEST(model.attention_weights().shape() == (Shape{2, 4, 4}));
  model.backward(model.losses({logits}, {Tensor::from_i64(std::vector<std::int64_t>{0, 2}, Shape{2})}));
}

BOOST_AUTO_TEST_SUITE_END()
