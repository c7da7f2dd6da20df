#include "tests/support/gradcheck.h"

#include "framework/core/rng.h"

#include <cmath>

namespace attnlab::testing {

using autograd::Var;
using core::Tensor;

namespace {
double weighted_sum(const Tensor& y, const std::vector<float>& r) {
  const float* p = y.f32();
  double s = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) s += static_cast<double>(p[i]) * r[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Var()>& forward, const std::vector<Checked>& tensors,
                          const GradcheckOptions& opt) {
  core::Rng rng(opt.seed);
  for (const auto& t : tensors) t.var.zero_grad();
  Var y = forward();
  std::vector<float> r(static_cast<std::size_t>(y.value().numel()));
  for (auto& v : r) v = rng.uniform(-1.f, 1.f);
  y.backward(Tensor::from(r, y.shape()));

  GradcheckResult res;
  autograd::NoGrad no_grad;
  for (const auto& t : tensors) {
    const Tensor& g = t.var.grad();
    float* x = const_cast<float*>(t.var.value().f32());
    const std::int64_t n = t.var.value().numel();
    const int coords = static_cast<int>(std::min<std::int64_t>(n, opt.max_coords));
    for (int c = 0; c < coords; ++c) {
      const std::int64_t k =
          n <= opt.max_coords ? c : static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
      const float orig = x[k];
      x[k] = orig + static_cast<float>(opt.eps);
      const double lp = weighted_sum(forward().value(), r);
      x[k] = orig - static_cast<float>(opt.eps);
      const double lm = weighted_sum(forward().value(), r);
      x[k] = orig;
      const double num = (lp - lm) / (2 * opt.eps);
      const double ana = g.defined() ? g.f32()[k] : 0.0;
      const double excess = std::abs(ana - num) - opt.tol * std::max({std::abs(ana), std::abs(num), 1.0});
      ++res.checked;
      if (excess > 0 || std::isnan(ana) || std::isnan(num)) {
        ++res.failed;
        if (res.worst.empty() || excess > res.worst_excess) {
          res.worst_excess = excess;
          res.worst = fmt::format("{}[{}]: analytic {} vs numeric {}{}", t.name, k, ana, num,
                                  g.defined() ? "" : " (no gradient reached this tensor)");
        }
      }
    }
  }
  return res;
}

}  // namespace attnlab::testing
