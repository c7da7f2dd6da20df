// Helpers for the behaviour tests of the sequence plugins (extractor, attention, pooling): building
// a plugin from YAML through its registry, masks and padding perturbations, and PyTorch goldens
// written by scripts/goldens/gen_seqparts.py.
#pragma once

#include "framework/config/value.h"
#include "framework/model/families.h"
#include "framework/registry/registry.h"
#include "tests/support/golden.h"
#include "tests/support/golden_check.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnlab::testing {

using autograd::Var;
using core::Shape;
using core::Tensor;

/// Builds plugin `yaml` (a map with `type`) of family Base through its registry, as a spec would.
template <class Base>
std::unique_ptr<Base> make_plugin(const std::string& yaml, const typename Base::Context& ctx) {
  return registry::Registry<Base>::get().create(config::parse(yaml, "test"), ctx, "plugin");
}

/// N(0, scale^2) values of the given shape.
inline Tensor randn(const Shape& s, core::Rng& rng, float scale = 1.f) {
  Tensor t = Tensor::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = rng.normal(0.f, scale);
  return t;
}

/// f32 [B, T] from rows of 0/1.
inline Tensor mask_of(const std::vector<std::vector<float>>& rows) {
  std::vector<float> v;
  for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
  return Tensor::from(v, Shape{static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows.front().size())});
}

/// The standard mask of these tests, [3, 5]: row 0 full, row 1 left-padded by 2, row 2 has one real
/// step (then padding).
inline Tensor test_mask() { return mask_of({{1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}, {1, 0, 0, 0, 0}}); }

/// A copy of x [B, T, H] whose padding steps (mask 0) hold new, large random values.
inline Tensor scramble_padding(const Tensor& x, const Tensor& mask, core::Rng& rng) {
  Tensor y = x.clone();
  const std::int64_t B = x.shape()[0], T = x.shape()[1], H = x.shape()[2];
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      if (mask.f32()[b * T + t] == 0.f)
        for (std::int64_t h = 0; h < H; ++h) y.f32()[(b * T + t) * H + h] = rng.normal(0.f, 10.f);
  return y;
}

/// max |a - b| over all elements (shapes must match; +inf otherwise).
inline double max_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double d = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) d = std::max(d, static_cast<double>(std::fabs(a.f32()[i] - b.f32()[i])));
  return d;
}

/// max |a - b| over the real steps of [B, T, H] tensors.
inline double max_diff_real(const Tensor& x, const Tensor& y, const Tensor& mask) {
  if (x.shape() != y.shape()) return INFINITY;
  const std::int64_t B = x.shape()[0], T = x.shape()[1], H = x.shape()[2];
  double d = 0;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      if (mask.f32()[b * T + t] != 0.f)
        for (std::int64_t h = 0; h < H; ++h) {
          const std::int64_t i = (b * T + t) * H + h;
          d = std::max(d, static_cast<double>(std::fabs(x.f32()[i] - y.f32()[i])));
        }
  return d;
}

/// Checks that every row of weights [..., T] sums to 1 and that padding keys (mask [B, T], with B
/// the leading dim of weights) have weight 0.
inline void expect_normalised(const Tensor& w, const Tensor& mask) {
  const std::int64_t B = mask.shape()[0], T = mask.shape()[1], rows_per_b = w.numel() / (B * T);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t r = 0; r < rows_per_b; ++r) {
      const float* row = w.f32() + (b * rows_per_b + r) * T;
      double s = 0;
      for (std::int64_t t = 0; t < T; ++t) {
        s += row[t];
        if (mask.f32()[b * T + t] == 0.f)
          BOOST_TEST(row[t] == 0.f, "batch " << b << " row " << r << ": padding key " << t << " has weight " << row[t]);
      }
      BOOST_TEST(s == 1.0, boost::test_tools::tolerance(1e-5));
    }
}

inline void expect_close(const std::string& what, const Tensor& got, const Tensor& want, double tol = 1e-4) {
  const double e = max_rel_error(got, want);
  BOOST_TEST(e <= tol, what << ": max relative error " << e << " (shapes " << got.shape().str() << " vs "
                            << want.shape().str() << ")");
}

/// Loads golden `name` (seq_<scenario>): its parameters "p:<name>" into m (every parameter of m must
/// be there), runs forward(x, mask, query) on its inputs, and compares the output and the gradients
/// of sum(r * y) with respect to x, the query (if any) and every parameter with PyTorch's.
template <class F>
void check_golden(const std::string& name, nn::Module& m, F&& forward) {
  const Golden g = Golden::load(name);
  load_golden(m, g, "p:");
  m.zero_grad();
  Var x(g.tensor("x"), true);
  Var q = g.has("query") ? Var(g.tensor("query"), true) : Var();
  Var y = forward(x, g.tensor("mask"), q);
  expect_close(name + ": y", y.value(), g.tensor("y"));
  y.backward(g.tensor("r"));
  expect_close(name + ": grad x", x.grad(), g.tensor("gx"));
  if (q.defined()) expect_close(name + ": grad query", q.grad(), g.tensor("gquery"));
  for (const auto& [n, v] : m.named_params()) {
    const Tensor want = g.tensor("g:" + n);
    expect_close(name + ": grad " + n, v.grad().defined() ? v.grad() : Tensor::zeros(want.shape()), want);
  }
}

}  // namespace attnlab::testing
