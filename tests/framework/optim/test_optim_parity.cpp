// Optimizers, clip_grad_norm and LR schedules against PyTorch 1.13 (scripts/goldens/gen_optim.py).
#include <boost/test/unit_test.hpp>

#include "framework/optim/adam.h"
#include "framework/optim/clip.h"
#include "framework/optim/schedule.h"
#include "framework/optim/sgd.h"
#include "tests/support/golden.h"

#include <functional>
#include <memory>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
using testing::Golden;
using testing::max_rel_error;

namespace {

constexpr double kRelTol = 1e-5;
constexpr double kFloor = 1e-6;
constexpr int kSteps = 5;
constexpr int kParams = 2;

// The C++ side of each golden configuration. The hyperparameters are spelled out here (as doubles,
// like PyTorch's) and checked against the hp.* values the generator recorded.
struct ParityCase {
  std::string golden;
  std::map<std::string, double> hp;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<Var>)> make;
};

std::vector<ParityCase> parity_cases() {
  using optim::AdamConfig;
  using optim::AdamWConfig;
  using optim::SgdConfig;
  auto sgd = [](SgdConfig c) {
    return [c](std::vector<Var> p) { return std::make_unique<optim::Sgd>(std::move(p), c); };
  };
  auto adam = [](AdamConfig c) {
    return [c](std::vector<Var> p) { return std::make_unique<optim::Adam>(std::move(p), c); };
  };
  auto adamw = [](AdamWConfig c) {
    return [c](std::vector<Var> p) { return std::make_unique<optim::AdamW>(std::move(p), c); };
  };
  return {
      {"optim_sgd",
       {{"lr", 0.1}, {"momentum", 0}, {"dampening", 0}, {"nesterov", 0}, {"weight_decay", 0}},
       sgd({.lr = 0.1f})},
      {"optim_sgd_nesterov",
       {{"lr", 0.05}, {"momentum", 0.9}, {"dampening", 0}, {"nesterov", 1}, {"weight_decay", 0.01}},
       sgd({.lr = 0.05f, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01})},
      {"optim_sgd_dampening",
       {{"lr", 0.05}, {"momentum", 0.8}, {"dampening", 0.3}, {"nesterov", 0}, {"weight_decay", 0.02}},
       sgd({.lr = 0.05f, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.02})},
      {"optim_adam",
       {{"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0}, {"amsgrad", 0}},
       adam({.lr = 0.01f})},
      {"optim_adam_wd",
       {{"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.1}, {"amsgrad", 0}},
       adam({.lr = 0.01f, .weight_decay = 0.1})},
      {"optim_adam_amsgrad",
       {{"lr", 0.02}, {"beta1", 0.8}, {"beta2", 0.95}, {"eps", 1e-8}, {"weight_decay", 0}, {"amsgrad", 1}},
       adam({.lr = 0.02f, .beta1 = 0.8, .beta2 = 0.95, .amsgrad = true})},
      {"optim_adam_skip",
       {{"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-6}, {"weight_decay", 0}, {"amsgrad", 0}},
       adam({.lr = 0.01f, .eps = 1e-6})},
      {"optim_adamw",
       {{"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.1}, {"amsgrad", 0}},
       adamw({.lr = 0.01f, .weight_decay = 0.1})},
      {"optim_adamw_amsgrad",
       {{"lr", 0.01}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.05}, {"amsgrad", 1}},
       adamw({.lr = 0.01f, .weight_decay = 0.05, .amsgrad = true})},
  };
}

// Sets p's gradient to g through the public API (backward on a leaf seeds its gradient).
void set_grad(Var& p, const Tensor& g) {
  p.zero_grad();
  p.backward(g);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_parity)

BOOST_AUTO_TEST_CASE(optimizers_match_pytorch_at_every_step) {
  for (const auto& c : parity_cases()) {
    BOOST_TEST_CONTEXT(c.golden) {
      const Golden g = Golden::load(c.golden);
      for (const auto& [name, value] : c.hp)
        BOOST_TEST(g.tensor("hp." + name).item() == value, boost::test_tools::tolerance(1e-6));
      std::vector<Var> params;
      for (int p = 0; p < kParams; ++p) params.emplace_back(g.tensor(fmt::format("init.{}", p)), true);
      auto opt = c.make(params);
      int skipped = 0;
      for (int s = 0; s < kSteps; ++s) {
        for (int p = 0; p < kParams; ++p) {
          const std::string key = fmt::format("grad.{}.{}", s, p);
          if (g.has(key)) {
            set_grad(params[static_cast<std::size_t>(p)], g.tensor(key));
          } else {
            params[static_cast<std::size_t>(p)].zero_grad();  // no gradient: PyTorch skips the parameter
            ++skipped;
          }
        }
        opt->step();
        for (int p = 0; p < kParams; ++p) {
          BOOST_TEST_CONTEXT("step " << s << ", parameter " << p) {
            const Tensor want = g.tensor(fmt::format("param.{}.{}", s, p));
            BOOST_TEST(max_rel_error(params[static_cast<std::size_t>(p)].value(), want, kFloor) <= kRelTol);
          }
        }
      }
      BOOST_TEST(opt->steps() == kSteps);
      if (c.golden.find("skip") != std::string::npos) BOOST_TEST(skipped > 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_matches_pytorch) {
  const Golden g = Golden::load("optim_clip");
  for (int k = 0; g.has(fmt::format("case{}.norm", k)); ++k) {
    BOOST_TEST_CONTEXT("case " << k) {
      std::vector<Var> params{Var(Tensor::zeros(Shape{3, 4}), true), Var(Tensor::zeros(Shape{5}), true)};
      for (int p = 0; p < kParams; ++p) {
        const std::string key = fmt::format("case{}.grad.{}", k, p);
        if (g.has(key)) set_grad(params[static_cast<std::size_t>(p)], g.tensor(key));
      }
      const float norm = optim::clip_grad_norm(params, g.tensor(fmt::format("case{}.max_norm", k)).item());
      BOOST_TEST(norm == g.tensor(fmt::format("case{}.norm", k)).item(), boost::test_tools::tolerance(1e-6f));
      for (int p = 0; p < kParams; ++p) {
        const std::string key = fmt::format("case{}.clipped.{}", k, p);
        const Var& v = params[static_cast<std::size_t>(p)];
        BOOST_TEST(g.has(key) == v.grad().defined());
        if (g.has(key)) BOOST_TEST(max_rel_error(v.grad(), g.tensor(key), kFloor) <= kRelTol);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(schedules_match_pytorch) {
  const Golden g = Golden::load("optim_schedules");
  auto hp = [&](const std::string& k) { return g.tensor(k).item(); };
  const optim::StepDecayLr step(hp("step.hp.base_lr"), static_cast<std::int64_t>(hp("step.hp.step_size")),
                                hp("step.hp.gamma"));
  const optim::CosineLr cosine(hp("cosine.hp.base_lr"), static_cast<std::int64_t>(hp("cosine.hp.total_steps")),
                               hp("cosine.hp.min_lr"));
  const optim::WarmupLr warmup(
      std::make_shared<optim::CosineLr>(hp("warmup.hp.base_lr"), static_cast<std::int64_t>(hp("warmup.hp.total_steps")),
                                        hp("warmup.hp.min_lr")),
      static_cast<std::int64_t>(hp("warmup.hp.warmup_steps")), hp("warmup.hp.start_factor"));
  const std::vector<std::pair<std::string, const optim::LrSchedule*>> cases{
      {"step", &step}, {"cosine", &cosine}, {"warmup", &warmup}};
  for (const auto& [name, sched] : cases) {
    BOOST_TEST_CONTEXT(name) {
      const auto want = g.tensor(name + ".lr").to_vector();
      for (std::size_t t = 0; t < want.size(); ++t)
        BOOST_TEST(sched->lr(static_cast<std::int64_t>(t)) == want[t], boost::test_tools::tolerance(1e-5f));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
