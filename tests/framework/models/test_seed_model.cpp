#include <boost/test/unit_test.hpp>

#include "framework/data/marker_task.h"
#include "framework/experiment/seed_demo.h"
#include "framework/experiment/seed_model.h"
#include "framework/onednn/onednn.h"
#include "framework/ops/ops.h"
#include "framework/optim/adam.h"
#include "tests/support/gradcheck.h"

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

experiment::SeedConfig tiny() { return {.vocab = 11, .embedding = 4, .hidden = 5, .seq_len = 6, .classes = 3}; }

std::vector<testing::Checked> all_params(const nn::Module& m) {
  std::vector<testing::Checked> out;
  for (auto& [name, v] : m.named_params()) out.push_back({name, v});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(seed_model)

BOOST_AUTO_TEST_CASE(gradients_of_every_parameter_match_finite_differences) {
  core::Rng rng(5);
  experiment::SeedModel model(tiny(), rng);
  auto task = data::make_marker_task(4, 6, 11, 3, rng);
  const auto params = all_params(model);
  BOOST_TEST(params.size() == 9u);  // table, 4 LSTM tensors, query W/b, output W/b

  auto logits = testing::gradcheck([&] { return model.forward(task.ids); }, params);
  BOOST_TEST(logits.ok(), logits.worst << " (" << logits.failed << " of " << logits.checked << " failed)");
  auto loss = testing::gradcheck([&] { return ops::softmax_cross_entropy(model.forward(task.ids), task.labels); }, params);
  BOOST_TEST(loss.ok(), loss.worst << " (" << loss.failed << " of " << loss.checked << " failed)");
}

BOOST_AUTO_TEST_CASE(attention_weights_are_row_stochastic) {
  core::Rng rng(6);
  experiment::SeedModel model(tiny(), rng);
  auto task = data::make_marker_task(3, 6, 11, 3, rng);
  autograd::NoGrad ng;
  model.forward(task.ids);
  const Tensor& w = model.last_attention();
  BOOST_TEST(w.shape() == (Shape{3, 6, 6}));
  for (std::int64_t r = 0; r < 18; ++r) {
    double s = 0;
    for (std::int64_t c = 0; c < 6; ++c) s += w.f32()[r * 6 + c];
    BOOST_TEST(s == 1.0, boost::test_tools::tolerance(1e-5));
  }
}

BOOST_AUTO_TEST_CASE(wrong_sequence_length_is_a_shape_error) {
  core::Rng rng(7);
  experiment::SeedModel model(tiny(), rng);
  BOOST_CHECK_THROW(model.forward(Tensor::zeros(Shape{2, 5}, core::DType::i64)), ShapeError);
}

BOOST_AUTO_TEST_CASE(adam_training_makes_the_loss_fall_clearly) {
  experiment::DemoOptions o{.vocab = 100, .embedding = 32, .hidden = 48, .seq_len = 20, .classes = 10,
                            .train = 2048, .valid = 512, .epochs = 4, .batch = 32, .lr = 3e-3f, .quiet = true};
  const auto stats = experiment::run_seed_demo(o);
  BOOST_TEST_MESSAGE("train loss " << stats.front().train_loss << " -> " << stats.back().train_loss);
  // Chance level is log(10) = 2.30; the marker task is learnable, so the loss must fall well below it.
  BOOST_TEST(stats.front().train_loss > 1.5);
  BOOST_TEST(stats.back().train_loss < 0.6 * stats.front().train_loss);
  BOOST_TEST(stats.back().valid_accuracy > 0.5);
}

BOOST_AUTO_TEST_CASE(training_is_bitwise_reproducible) {
  experiment::DemoOptions o{.vocab = 100, .embedding = 16, .hidden = 16, .seq_len = 12, .classes = 10,
                            .train = 256, .valid = 64, .epochs = 1, .quiet = true};
  const auto a = experiment::run_seed_demo(o);
  const auto b = experiment::run_seed_demo(o);
  BOOST_TEST(a.back().train_loss == b.back().train_loss);
  BOOST_TEST(a.back().valid_loss == b.back().valid_loss);
  o.seed = 2;
  const auto c = experiment::run_seed_demo(o);
  BOOST_TEST(a.back().train_loss != c.back().train_loss);
}

BOOST_AUTO_TEST_CASE(steps_after_the_first_build_no_kernel) {
  core::Rng rng(8);
  experiment::SeedModel model({.vocab = 50, .embedding = 8, .hidden = 16, .seq_len = 10, .classes = 7}, rng);
  optim::Adam opt(model.params(), {.lr = 1e-3f});
  auto task = data::make_marker_task(16, 10, 50, 7, rng);
  auto step = [&] {
    opt.zero_grad();
    Var loss = ops::softmax_cross_entropy(model.forward(task.ids), task.labels);
    loss.backward();
    opt.step();
  };
  step();
  const auto before = onednn::cache_stats();
  step();
  step();
  const auto after = onednn::cache_stats();
  BOOST_TEST(after.misses == before.misses);
  BOOST_TEST(after.hits > before.hits);
}

BOOST_AUTO_TEST_SUITE_END()
