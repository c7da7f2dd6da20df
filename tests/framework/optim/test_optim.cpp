#include <boost/test/unit_test.hpp>

#include "tests/support/expect.h"

#include "framework/core/rng.h"
#include "framework/ops/eltwise.h"
#include "framework/optim/adam.h"
#include "framework/optim/clip.h"
#include "framework/optim/schedule.h"
#include "framework/optim/sgd.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
namespace tt = boost::test_tools;

namespace {

using attnlab::testing::error_of;

using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Var>)>;

Tensor random(const Shape& s, core::Rng& rng, float scale = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal(0.0f, scale);
  return t;
}

void set_grad(Var& p, const Tensor& g) {
  p.zero_grad();
  p.backward(g);
}

// Parameters of several sizes, one above Optimizer::kParallelMin (the TBB path) and not a multiple
// of any vector width.
const std::vector<Shape> kShapes{{3, 4}, {7}, {Shape{optim::Optimizer::kParallelMin * 2 + 13}}};

std::vector<Var> make_params(std::uint64_t seed) {
  core::Rng rng(seed);
  std::vector<Var> out;
  for (const auto& s : kShapes) out.emplace_back(random(s, rng), true);
  return out;
}

// Gradients for step `step`; parameter 1 gets none on even steps (it is skipped then).
void feed(std::vector<Var>& params, int step) {
  core::Rng rng(1000 + static_cast<std::uint64_t>(step));
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i == 1 && step % 2 == 0)
      params[i].zero_grad();
    else
      set_grad(params[i], random(params[i].shape(), rng, 0.5f + static_cast<float>(step % 3)));
  }
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> f{
      {"sgd",
       [](std::vector<Var> p) { return std::make_unique<optim::Sgd>(std::move(p), optim::SgdConfig{.lr = 0.05f}); }},
      {"sgd_momentum",
       [](std::vector<Var> p) {
         return std::make_unique<optim::Sgd>(
             std::move(p), optim::SgdConfig{.lr = 0.05f, .momentum = 0.9, .dampening = 0.1, .weight_decay = 1e-3});
       }},
      {"adam",
       [](std::vector<Var> p) {
         return std::make_unique<optim::Adam>(std::move(p), optim::AdamConfig{.lr = 1e-2f, .weight_decay = 1e-2});
       }},
      {"adam_amsgrad",
       [](std::vector<Var> p) {
         return std::make_unique<optim::Adam>(std::move(p), optim::AdamConfig{.lr = 1e-2f, .amsgrad = true});
       }},
      {"adamw",
       [](std::vector<Var> p) {
         return std::make_unique<optim::AdamW>(std::move(p), optim::AdamWConfig{.lr = 1e-2f});
       }},
  };
  return f;
}

// An independent double-precision Adam/AdamW on one element, straight from the paper's notation
// with PyTorch's placement of eps and weight decay.
struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool decoupled, amsgrad;
  double m = 0, v = 0, vmax = 0;
  int t = 0;
  double step(double p, double g) {
    ++t;
    if (decoupled)
      p *= 1 - lr * wd;
    else
      g += wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    vmax = std::max(vmax, v);
    const double m_hat = m / (1 - std::pow(b1, t));
    const double v_hat = (amsgrad ? vmax : v) / (1 - std::pow(b2, t));
    return p - lr * m_hat / (std::sqrt(v_hat) + eps);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_state)

BOOST_AUTO_TEST_CASE(state_round_trip_continues_bitwise_identically) {
  for (const auto& [name, make] : factories()) {
    BOOST_TEST_CONTEXT(name) {
      // Run A: 3 steps, checkpoint, 4 more steps.
      auto a_params = make_params(1);
      auto a = make(a_params);
      for (int s = 0; s < 3; ++s) {
        feed(a_params, s);
        a->step();
      }
      a->set_lr(a->lr() * 0.5f);
      const optim::State saved = a->state();
      std::vector<Tensor> saved_values;
      for (const auto& p : a_params) saved_values.push_back(p.value().clone());
      for (int s = 3; s < 7; ++s) {
        feed(a_params, s);
        a->step();
      }

      // Run B: fresh parameters and optimizer restored from the checkpoint, then the same 4 steps.
      auto b_params = make_params(2);
      for (std::size_t i = 0; i < b_params.size(); ++i) b_params[i].set_value(saved_values[i].clone());
      auto b = make(b_params);
      b->load_state(saved);
      BOOST_TEST(b->steps() == 3);
      BOOST_TEST(b->lr() == a->lr());
      for (int s = 3; s < 7; ++s) {
        feed(b_params, s);
        b->step();
      }

      for (std::size_t i = 0; i < a_params.size(); ++i)
        BOOST_TEST(bitwise_equal(a_params[i].value(), b_params[i].value()), "parameter " << i);
      const auto sa = a->state(), sb = b->state();
      BOOST_TEST(sa.size() == sb.size());
      for (const auto& [key, t] : sa) BOOST_TEST((sb.count(key) && bitwise_equal(t, sb.at(key))), key);
    }
  }
}

BOOST_AUTO_TEST_CASE(state_layout) {
  auto params = make_params(3);
  optim::Adam adam(params, {.amsgrad = true});
  params[0].backward(Tensor::full(params[0].shape(), 1.0f));
  adam.step();
  adam.step();  // parameter 0 twice, the others never
  const optim::State s = adam.state();
  std::vector<std::string> keys;
  for (const auto& [k, _] : s) keys.push_back(k);
  const std::vector<std::string> expected{"0.exp_avg",  "0.exp_avg_sq", "0.max_exp_avg_sq", "0.step", "lr",
                                          "num_params", "step"};
  BOOST_TEST(keys == expected, tt::per_element());
  BOOST_TEST(s.at("step").to_vector_i64()[0] == 2);
  BOOST_TEST(s.at("0.step").to_vector_i64()[0] == 2);
  BOOST_TEST(s.at("num_params").to_vector_i64()[0] == 3);
  BOOST_TEST(s.at("lr").item() == 1e-3f);
  BOOST_TEST((s.at("0.exp_avg").shape() == Shape{3, 4}));
  // Deep copies: stepping again does not change a state already taken.
  const float before = s.at("0.exp_avg").to_vector()[0];
  adam.step();
  BOOST_TEST(s.at("0.exp_avg").to_vector()[0] == before);
}

BOOST_AUTO_TEST_CASE(load_state_reports_every_problem_and_changes_nothing) {
  auto params = make_params(4);
  optim::Adam adam(params, {});
  feed(params, 1);
  adam.step();
  const optim::State good = adam.state();

  optim::State bad = good;
  bad.erase("0.exp_avg_sq");                           // missing slot
  bad["0.exp_avg"] = Tensor::zeros(Shape{4, 3});       // wrong shape
  bad["1.momentum_buffer"] = Tensor::zeros(Shape{7});  // another optimizer's slot
  bad["lr"] = Tensor::zeros(Shape{2});
  bad["num_params"] = Tensor::from_i64(std::vector<std::int64_t>{5}, Shape{});
  optim::Adam other(make_params(5), {});
  const std::string msg = error_of([&] { other.load_state(bad); });
  BOOST_TEST_MESSAGE(msg);
  BOOST_TEST(msg.find("adam: load_state: 5 problems") != std::string::npos, msg);
  BOOST_TEST(msg.find("missing key '0.exp_avg_sq'") != std::string::npos, msg);
  BOOST_TEST(msg.find("'0.exp_avg': expected f32 [3, 4], got f32 [4, 3]") != std::string::npos, msg);
  BOOST_TEST(msg.find("unexpected key '1.momentum_buffer'") != std::string::npos, msg);
  BOOST_TEST(msg.find("'lr': expected f32 [], got f32 [2]") != std::string::npos, msg);
  BOOST_TEST(msg.find("the state is for 5 parameters, this optimizer has 3") != std::string::npos, msg);
  BOOST_TEST(other.steps() == 0);
  BOOST_TEST(other.state().size() == 3u);  // still untouched: step, lr, num_params

  // An SGD state does not load into Adam (no slots for the updated parameters).
  auto sgd_params = make_params(6);
  optim::Sgd sgd(sgd_params, {.momentum = 0.9});
  feed(sgd_params, 1);
  sgd.step();
  const std::string msg2 = error_of([&] { other.load_state(sgd.state()); });
  BOOST_TEST(msg2.find("missing key '0.exp_avg'") != std::string::npos, msg2);
  BOOST_TEST(msg2.find("unexpected key '0.momentum_buffer'") != std::string::npos, msg2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optim_update)

BOOST_AUTO_TEST_CASE(parameters_without_gradient_are_skipped) {
  auto params = make_params(7);
  const Tensor before = params[1].value().clone();
  optim::Adam adam(params, {});
  feed(params, 0);  // parameter 1 has no gradient on even steps
  adam.step();
  BOOST_TEST(bitwise_equal(params[1].value(), before));
  BOOST_TEST(adam.state().count("1.step") == 0u);
  feed(params, 1);
  adam.step();
  BOOST_TEST(adam.state().at("1.step").to_vector_i64()[0] == 1);  // its own count: bias correction of step 1
  BOOST_TEST(adam.state().at("0.step").to_vector_i64()[0] == 2);
}

BOOST_AUTO_TEST_CASE(large_parameters_match_an_independent_reference) {
  // The big parameter runs through TBB chunks and the vector kernels; every element must follow
  // the scalar formula, including the tail elements of each chunk.
  for (const bool decoupled : {false, true}) {
    for (const bool amsgrad : {false, true}) {
      BOOST_TEST_CONTEXT("decoupled " << decoupled << ", amsgrad " << amsgrad) {
        auto params = make_params(8);
        const std::int64_t n = params[2].value().numel();
        const auto p0 = params[2].value().to_vector();
        std::unique_ptr<optim::Optimizer> opt;
        if (decoupled)
          opt = std::make_unique<optim::AdamW>(
              params, optim::AdamWConfig{.lr = 0.01f, .weight_decay = 0.1, .amsgrad = amsgrad});
        else
          opt = std::make_unique<optim::Adam>(params,
                                              optim::AdamConfig{.lr = 0.01f, .weight_decay = 0.1, .amsgrad = amsgrad});
        std::vector<RefAdam> ref(static_cast<std::size_t>(n), RefAdam{0.01, 0.9, 0.999, 1e-8, 0.1, decoupled, amsgrad});
        std::vector<double> want(p0.begin(), p0.end());
        for (int s = 0; s < 4; ++s) {
          feed(params, s);
          const auto g = params[2].grad().to_vector();
          for (std::size_t i = 0; i < want.size(); ++i) want[i] = ref[i].step(want[i], g[i]);
          opt->step();
        }
        const auto got = params[2].value().to_vector();
        double worst = 0;
        for (std::size_t i = 0; i < want.size(); ++i)
          worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(std::abs(want[i]), 1e-3));
        BOOST_TEST(worst < 1e-5);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(sgd_momentum_against_closed_form) {
  // One element, constant gradient g, momentum mu, no dampening: the buffer after k updates is
  // g * (1 + mu + ... + mu^(k-1)) and p decreases by lr times the sum of the buffers.
  Var p(Tensor::full(Shape{1}, 1.0f), true);
  optim::Sgd sgd({p}, {.lr = 0.1f, .momentum = 0.5});
  double buf = 0, want = 1.0;
  for (int k = 1; k <= 4; ++k) {
    set_grad(p, Tensor::full(Shape{1}, 2.0f));
    sgd.step();
    buf = k == 1 ? 2.0 : 0.5 * buf + 2.0;
    want -= 0.1 * buf;
  }
  BOOST_TEST(p.value().item() == want, tt::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(zero_grad_and_lr) {
  auto params = make_params(9);
  optim::Sgd sgd(params, {.lr = 0.5f});
  feed(params, 1);
  sgd.zero_grad();
  for (const auto& p : params) BOOST_TEST(!p.grad().defined());
  const Tensor before = params[0].value().clone();
  sgd.step();  // nothing to do
  BOOST_TEST(bitwise_equal(before, params[0].value()));
  BOOST_TEST(sgd.steps() == 1);
  sgd.set_lr(0.25f);
  BOOST_TEST(sgd.lr() == 0.25f);
  BOOST_CHECK_THROW(sgd.set_lr(-1.0f), Error);
  BOOST_CHECK_THROW(sgd.set_lr(std::numeric_limits<float>::infinity()), Error);
}

BOOST_AUTO_TEST_CASE(construction_errors) {
  auto params = make_params(10);
  BOOST_CHECK_THROW(optim::Sgd({}, {}), Error);
  BOOST_CHECK_THROW(optim::Sgd({params[0], params[1], params[0]}, {}), Error);
  BOOST_CHECK_THROW(optim::Sgd({Var(Tensor::zeros(Shape{2}), false)}, {}), Error);
  BOOST_CHECK_THROW(optim::Sgd({Var()}, {}), Error);
  const Var non_leaf = ops::tanh(params[0]);
  const std::string msg = error_of([&] { optim::Adam({params[1], non_leaf}, {}); });
  BOOST_TEST(msg.find("adam: parameter 1 [3, 4] is the result of 'tanh', not a leaf") != std::string::npos, msg);
  BOOST_CHECK_THROW(optim::Sgd(params, {.lr = -0.1f}), Error);
  BOOST_CHECK_THROW(optim::Sgd(params, {.momentum = -0.5}), Error);
  BOOST_CHECK_THROW(optim::Sgd(params, {.nesterov = true}), Error);
  BOOST_CHECK_THROW(optim::Sgd(params, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), Error);
  BOOST_CHECK_THROW(optim::Adam(params, {.beta1 = 1.0}), Error);
  BOOST_CHECK_THROW(optim::Adam(params, {.beta2 = -0.1}), Error);
  BOOST_CHECK_THROW(optim::AdamW(params, {.eps = -1.0}), Error);
  BOOST_CHECK_THROW(optim::AdamW(params, {.weight_decay = -1.0}), Error);
  BOOST_TEST(optim::AdamW(params, {}).config().weight_decay == 0.01);
  BOOST_TEST(optim::AdamW(params, {}).name() == "adamw");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optim_clip)

BOOST_AUTO_TEST_CASE(clips_to_max_norm_and_returns_the_norm_before) {
  std::vector<Var> params{Var(Tensor::zeros(Shape{2}), true), Var(Tensor::zeros(Shape{1}), true),
                          Var(Tensor::zeros(Shape{3}), true)};
  set_grad(params[0], Tensor::from(std::vector<float>{3.0f, 0.0f}, Shape{2}));
  set_grad(params[1], Tensor::from(std::vector<float>{4.0f}, Shape{1}));  // params[2]: no gradient
  const float norm = optim::clip_grad_norm(params, 1.0f);
  BOOST_TEST(norm == 5.0f);
  BOOST_TEST(params[0].grad().to_vector()[0] == 3.0f / (5.0f + 1e-6f), tt::tolerance(1e-6f));
  BOOST_TEST(params[1].grad().to_vector()[0] == 4.0f / (5.0f + 1e-6f), tt::tolerance(1e-6f));
  BOOST_TEST(!params[2].grad().defined());
  // Below the limit nothing changes.
  BOOST_TEST(optim::clip_grad_norm(params, 10.0f) == 1.0f, tt::tolerance(1e-5f));
  BOOST_TEST(params[1].grad().to_vector()[0] == 4.0f / (5.0f + 1e-6f), tt::tolerance(1e-6f));
  BOOST_TEST(optim::clip_grad_norm({params[2]}, 1.0f) == 0.0f);
  BOOST_CHECK_THROW(optim::clip_grad_norm(params, -1.0f), Error);
}

BOOST_AUTO_TEST_CASE(never_writes_into_a_shared_gradient_buffer) {
  Var p(Tensor::zeros(Shape{2}), true);
  const Tensor seed = Tensor::full(Shape{2}, 10.0f);
  p.backward(seed);  // the leaf's gradient is the seed's buffer
  BOOST_TEST(p.grad().shares_buffer(seed));
  optim::clip_grad_norm({p}, 1.0f);
  BOOST_TEST(seed.to_vector()[0] == 10.0f);
  BOOST_TEST(p.grad().to_vector()[0] == 10.0f / (std::sqrt(200.0f) + 1e-6f), tt::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(a_step_names_the_first_parameter_with_a_non_finite_gradient) {
  // Small and large (chunked, parallel) parameters; the infinity sits in the large one's last chunk.
  std::vector<Var> params{Var(Tensor::zeros(Shape{3}), true), Var(Tensor::zeros(Shape{200000}), true),
                          Var(Tensor::zeros(Shape{5}), true)};
  optim::Adam adam(params, {.lr = 1e-3f});
  for (auto& p : params) set_grad(p, Tensor::full(p.shape(), 0.5f));
  adam.step();
  BOOST_TEST(adam.nonfinite_gradient() == -1);
  Tensor g = Tensor::full(Shape{200000}, 0.5f);
  g.f32()[199999] = std::numeric_limits<float>::infinity();
  set_grad(params[1], g);
  Tensor h = Tensor::full(Shape{5}, 0.5f);
  h.f32()[2] = std::numeric_limits<float>::quiet_NaN();
  set_grad(params[2], h);
  adam.step();
  BOOST_TEST(adam.nonfinite_gradient() == 1);
  for (auto& p : params) set_grad(p, Tensor::full(p.shape(), 0.5f));
  adam.step();
  BOOST_TEST(adam.nonfinite_gradient() == -1);  // each step checks afresh
}

BOOST_AUTO_TEST_CASE(non_finite_norm_is_returned) {
  Var p(Tensor::zeros(Shape{2}), true);
  set_grad(p, Tensor::from(std::vector<float>{std::numeric_limits<float>::infinity(), 1.0f}, Shape{2}));
  BOOST_TEST(std::isinf(optim::clip_grad_norm({p}, 1.0f)));
  BOOST_TEST(p.grad().to_vector()[1] == 1.0f);  // not scaled: the caller names the non-finite gradient
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optim_schedule)

BOOST_AUTO_TEST_CASE(closed_forms) {
  const optim::ConstantLr constant(0.3f);
  BOOST_TEST(constant.lr(0) == 0.3f);
  BOOST_TEST(constant.lr(123456) == 0.3f);

  const optim::StepDecayLr step(0.1f, 10, 0.1f);
  for (std::int64_t t : {0, 9, 10, 19, 20, 35})
    BOOST_TEST(step.lr(t) == 0.1 * std::pow(0.1, static_cast<double>(t / 10)), tt::tolerance(1e-5));

  const optim::CosineLr cosine(1.0f, 100, 0.1f);
  BOOST_TEST(cosine.lr(0) == 1.0f);
  BOOST_TEST(cosine.lr(50) == 0.55f, tt::tolerance(1e-6f));
  BOOST_TEST(cosine.lr(25) == 0.1 + 0.9 * (1 + std::cos(std::numbers::pi / 4)) / 2, tt::tolerance(1e-6));
  BOOST_TEST(cosine.lr(100) == 0.1f);
  BOOST_TEST(cosine.lr(250) == 0.1f);  // stays at min_lr after total_steps
  for (std::int64_t t = 1; t <= 100; ++t) BOOST_TEST(cosine.lr(t) <= cosine.lr(t - 1));

  const optim::WarmupLr warm(std::make_shared<optim::CosineLr>(1.0f, 100, 0.0f), 10);
  BOOST_TEST(warm.lr(0) == 0.0f);
  BOOST_TEST(warm.lr(5) == 0.5f, tt::tolerance(1e-6f));
  BOOST_TEST(warm.lr(9) == 0.9f, tt::tolerance(1e-6f));
  BOOST_TEST(warm.lr(10) == 1.0f);
  BOOST_TEST(warm.lr(60) == 0.5f, tt::tolerance(1e-6f));
  BOOST_TEST(warm.lr(110) == 0.0f);
  const optim::WarmupLr from_quarter(std::make_shared<optim::ConstantLr>(2.0f), 4, 0.25f);
  BOOST_TEST(from_quarter.lr(0) == 0.5f);
  BOOST_TEST(from_quarter.lr(2) == 1.25f, tt::tolerance(1e-6f));
  BOOST_TEST(from_quarter.lr(4) == 2.0f);
  const optim::WarmupLr none(std::make_shared<optim::ConstantLr>(2.0f), 0);
  BOOST_TEST(none.lr(0) == 2.0f);
}

BOOST_AUTO_TEST_CASE(drives_an_optimizer) {
  Var p(Tensor::zeros(Shape{1}), true);
  optim::Sgd sgd({p}, {.lr = 1.0f});
  const optim::StepDecayLr sched(1.0f, 2, 0.5f);
  for (int k = 0; k < 4; ++k) {
    sgd.set_lr(sched.lr(sgd.steps()));
    set_grad(p, Tensor::full(Shape{1}, 1.0f));
    sgd.step();
  }
  BOOST_TEST(p.value().item() == -(1.0f + 1.0f + 0.5f + 0.5f));
}

BOOST_AUTO_TEST_CASE(invalid_arguments) {
  BOOST_CHECK_THROW(optim::ConstantLr(-1.0f), Error);
  BOOST_CHECK_THROW(optim::StepDecayLr(0.1f, 0, 0.5f), Error);
  BOOST_CHECK_THROW(optim::StepDecayLr(0.1f, 5, 0.0f), Error);
  BOOST_CHECK_THROW(optim::CosineLr(0.1f, 0), Error);
  BOOST_CHECK_THROW(optim::CosineLr(0.1f, 10, -0.1f), Error);
  BOOST_CHECK_THROW(optim::WarmupLr(nullptr, 5), Error);
  BOOST_CHECK_THROW(optim::WarmupLr(std::make_shared<optim::ConstantLr>(1.0f), -1), Error);
  BOOST_CHECK_THROW(optim::WarmupLr(std::make_shared<optim::ConstantLr>(1.0f), 5, 1.5f), Error);
  BOOST_CHECK_THROW(optim::ConstantLr(1.0f).lr(-1), Error);
}

BOOST_AUTO_TEST_SUITE_END()
