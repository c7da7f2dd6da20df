// The seed model as users meet it: `attnlab demo` runs the seed preset through the real pipeline
// (registry-built model, trainer, data pipeline), and that model builds its kernels once.
#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/data/marker_task.h"
#include "framework/experiment/seed_demo.h"
#include "framework/model/model.h"
#include "framework/onednn/onednn.h"
#include "framework/optim/adam.h"

using namespace attnlab;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(seed_demo)

BOOST_AUTO_TEST_CASE(adam_training_makes_the_loss_fall_clearly) {
  experiment::DemoOptions o{.vocab = 100,
                            .embedding = 32,
                            .hidden = 48,
                            .seq_len = 20,
                            .classes = 10,
                            .train = 2048,
                            .valid = 512,
                            .epochs = 4,
                            .batch = 32,
                            .lr = 3e-3f,
                            .quiet = true};
  const auto stats = experiment::run_seed_demo(o);
  BOOST_REQUIRE(stats.size() == 4u);
  BOOST_TEST_MESSAGE("train loss " << stats.front().train_loss << " -> " << stats.back().train_loss);
  // Chance level is log(10) = 2.30; the marker task is learnable, so the loss must fall well below it.
  BOOST_TEST(stats.front().train_loss > 1.5);
  BOOST_TEST(stats.back().train_loss < 0.6 * stats.front().train_loss);
  BOOST_TEST(stats.back().valid_accuracy > 0.5);
}

BOOST_AUTO_TEST_CASE(training_is_bitwise_reproducible) {
  experiment::DemoOptions o{.vocab = 100,
                            .embedding = 16,
                            .hidden = 16,
                            .seq_len = 12,
                            .classes = 10,
                            .train = 256,
                            .valid = 64,
                            .epochs = 1,
                            .quiet = true};
  const auto a = experiment::run_seed_demo(o);
  const auto b = experiment::run_seed_demo(o);
  BOOST_TEST(a.back().train_loss == b.back().train_loss);
  BOOST_TEST(a.back().valid_loss == b.back().valid_loss);
  o.seed = 2;
  const auto c = experiment::run_seed_demo(o);
  BOOST_TEST(a.back().train_loss != c.back().train_loss);
}

BOOST_AUTO_TEST_CASE(steps_after_the_first_build_no_kernel) {
  // The seed preset's model section, built by the registry as `attnlab run` builds it.
  const auto section = config::bind_or_throw<model::ModelSection>(config::parse(
      "embedding: 8\nextractor: {type: lstm, hidden: 16}\nattention: {type: seed_self}\npooling: {type: flatten}\n"
      "head: {type: classification}\n",
      "seed.yaml"));
  core::Rng rng(8);
  model::ModelDims dims;
  dims.vocab = 50;
  dims.seq_len = 10;
  dims.num_outputs = 7;
  dims.padding_idx = 0;
  model::Model model(section, dims, rng, nullptr);
  optim::Adam opt(model.params(), {.lr = 1e-3f});
  const auto task = data::make_marker_task(16, 10, 50, 7, rng);
  const data::ModelInput in{.tokens = task.ids, .mask = Tensor::full(Shape{16, 10}, 1.f)};
  auto step = [&] {
    opt.zero_grad();
    model.backward(model.train_losses(in, {task.labels}));
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
