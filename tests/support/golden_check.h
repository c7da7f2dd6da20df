// Comparing attnlab's results with PyTorch goldens (tests/support/golden.h) in Boost tests.
#pragma once

#include "framework/nn/module.h"
#include "tests/support/golden.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace attnlab::testing {

/// Loads the golden's "<prefix><name>" into every parameter of m (strict: each must be there).
inline void load_golden(nn::Module& m, const Golden& g, const std::string& prefix = "p.") {
  std::map<std::string, core::Tensor> state;
  for (const auto& [name, v] : m.named_params()) state[name] = g.tensor(prefix + name);
  m.load_state(state);
}

/// Checks max |got - want| / max(|want|, floor) <= tol, the floor 1% of the tensor's largest magnitude
/// (at least 1e-3): f32 rounding is relative to the magnitudes an element is summed from, not to the
/// element itself (a gradient that is 0 in exact arithmetic is f32 noise here and in PyTorch).
inline void expect_golden_close(const std::string& what, const core::Tensor& got, const core::Tensor& want,
                                double tol = 1e-4) {
  double scale = 0;
  for (float v : want.to_vector()) scale = std::max(scale, std::abs(static_cast<double>(v)));
  const double e = max_rel_error(got, want, std::max(1e-3, 1e-2 * scale));
  BOOST_TEST(e <= tol,
             what << ": max relative error " << e << " (" << got.shape().str() << " vs " << want.shape().str() << ")");
}

}  // namespace attnlab::testing
