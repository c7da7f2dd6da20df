#include "tests/support/op_case.h"

#include <algorithm>
#include <numeric>

namespace attnlab::testing {
namespace {
std::vector<std::vector<OpCase> (*)()>& makers() {
  static std::vector<std::vector<OpCase> (*)()> m;
  return m;
}
}  // namespace

OpCaseRegistrar::OpCaseRegistrar(std::vector<OpCase> (*make)()) { makers().push_back(make); }

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> all = [] {
    std::vector<OpCase> v;
    for (auto m : makers())
      for (auto& c : m()) v.push_back(std::move(c));
    return v;
  }();
  return all;
}

std::function<std::vector<double>(const Shape&, core::Rng&)> away_from_zero(double lo, double hi) {
  return [lo, hi](const Shape& s, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(s.numel()));
    for (auto& x : v) x = (rng.uniform() < 0.5f ? -1.0 : 1.0) * (lo + (hi - lo) * rng.uniform_double());
    return v;
  };
}

std::function<std::vector<double>(const Shape&, core::Rng&)> distinct() {
  return [](const Shape& s, core::Rng& rng) {
    const auto n = static_cast<std::size_t>(s.numel());
    std::vector<double> v(n);
    std::vector<std::size_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = n > 1 ? -1.0 + 2.0 * (static_cast<double>(perm[i]) + 0.25 * rng.uniform_double()) / static_cast<double>(n)
                   : 0.5;
    return v;
  };
}

}  // namespace attnlab::testing
