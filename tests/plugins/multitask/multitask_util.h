// Test helpers for the multitask and weighting plugins: building them through the registry, inputs,
// and the checks every structure shares (shapes, gradient flow, end-to-end gradient check).
#pragma once

#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "tests/support/gradcheck.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace attnlab::testing {

inline model::MultiTask::Context multitask_context(std::int64_t in_dim, std::vector<std::string> tasks,
                                                   core::Rng& rng) {
  model::MultiTask::Context c;
  c.in_dim = in_dim;
  c.tasks = std::move(tasks);
  c.rng = &rng;
  return c;
}

inline model::Weighting::Context weighting_context(std::vector<std::string> tasks, core::Rng& rng) {
  model::Weighting::Context c;
  c.tasks = std::move(tasks);
  c.rng = &rng;
  return c;
}

inline std::unique_ptr<model::MultiTask> make_multitask(const std::string& yaml, const model::MultiTask::Context& ctx) {
  return registry::Registry<model::MultiTask>::get().create(config::parse(yaml, "multitask.yaml"), ctx);
}

inline std::unique_ptr<model::Weighting> make_weighting(const std::string& yaml, const model::Weighting::Context& ctx) {
  return registry::Registry<model::Weighting>::get().create(config::parse(yaml, "weighting.yaml"), ctx);
}

/// A deterministic input [b, d] with values in (-scale, scale), requiring grad.
inline autograd::Var mt_input(std::int64_t b, std::int64_t d, float scale = 1.f) {
  std::vector<float> v(static_cast<std::size_t>(b * d));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(1.7f * static_cast<float>(i) + 0.4f);
  return autograd::Var(core::Tensor::from(v, core::Shape{b, d}), true);
}

/// Every output is [b, out_dim()] and there is one per task.
inline void expect_outputs(const std::vector<autograd::Var>& out, std::size_t tasks, std::int64_t b,
                           std::int64_t width) {
  BOOST_TEST(out.size() == tasks);
  for (const auto& o : out) BOOST_TEST(o.shape() == (core::Shape{b, width}));
}

/// Every row of a [rows..., n] tensor sums to 1 and its entries are in [0, 1].
inline void expect_rows_sum_to_one(const core::Tensor& w) {
  const std::int64_t n = w.shape()[w.rank() - 1];
  const auto v = w.to_vector();
  for (std::size_t r = 0; r * static_cast<std::size_t>(n) < v.size(); ++r) {
    double s = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      const float x = v[r * static_cast<std::size_t>(n) + static_cast<std::size_t>(k)];
      BOOST_TEST((x >= 0.f && x <= 1.f));
      s += x;
    }
    BOOST_TEST(s == 1.0, boost::test_tools::tolerance(1e-5));
  }
}

/// All task outputs concatenated on the last axis: [B, T * H].
inline autograd::Var joined(model::MultiTask& m, const autograd::Var& x) { return ops::concat(m.forward(x), 1); }

/// Backpropagates a random weighting of every output; every parameter whose name contains one of
/// `names` must receive a non-zero gradient, and so must the input.
inline void expect_gradient_reaches(model::MultiTask& m, const autograd::Var& x,
                                    const std::vector<std::string>& names) {
  m.zero_grad();
  x.zero_grad();
  autograd::Var y = joined(m, x);
  core::Rng rng(5);
  std::vector<float> r(static_cast<std::size_t>(y.value().numel()));
  for (auto& v : r) v = rng.uniform(-1.f, 1.f);
  y.backward(core::Tensor::from(r, y.shape()));
  auto nonzero = [](const core::Tensor& g) {
    if (!g.defined()) return false;
    for (float v : g.to_vector())
      if (v != 0.f) return true;
    return false;
  };
  BOOST_TEST(nonzero(x.grad()), "no gradient reached the input");
  int matched = 0;
  for (const auto& [name, p] : m.named_params()) {
    for (const auto& n : names) {
      if (name.find(n) == std::string::npos) continue;
      ++matched;
      BOOST_TEST(nonzero(p.grad()), "no gradient reached " << name);
      break;
    }
  }
  BOOST_TEST(matched > 0, "no parameter matched");
}

/// End-to-end central differences on the input and every parameter (tanh keeps off ReLU kinks).
inline void expect_gradcheck(model::MultiTask& m, const autograd::Var& x) {
  std::vector<Checked> checked{{"x", x}};
  for (const auto& [name, p] : m.named_params()) checked.push_back({name, p});
  const auto res = gradcheck([&] { return joined(m, x); }, checked, {.eps = 1e-2, .tol = 2e-2, .max_coords = 12});
  BOOST_TEST(res.ok(), res.failed << " of " << res.checked << " failed; worst " << res.worst);
}

}  // namespace attnlab::testing
