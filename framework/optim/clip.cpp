#include "framework/optim/clip.h"

#include <cmath>

namespace attnlab::optim {

float clip_grad_norm(const std::vector<autograd::Var>& params, float max_norm) {
  if (!(max_norm >= 0.0f)) throw Error(fmt::format("clip_grad_norm: max_norm must be >= 0, got {}", max_norm));
  double sum = 0.0;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    const float* g = p.grad().f32();
    const std::int64_t n = p.grad().numel();
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * g[i];
    sum += s;
  }
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return static_cast<float>(norm);  // leave the gradients as they are: the caller fails
  const auto coef = static_cast<float>(static_cast<double>(max_norm) / (norm + 1e-6));
  if (coef >= 1.0f) return static_cast<float>(norm);
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    autograd::Node& node = *p.node();
    // A grad that is not owned may be another tensor's buffer (Grads::add never copies).
    if (!node.grad_owned) {
      node.grad = node.grad.clone();
      node.grad_owned = true;
    }
    float* g = node.grad.f32();
    const std::int64_t n = node.grad.numel();
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) g[i] *= coef;
  }
  return static_cast<float>(norm);
}

}  // namespace attnlab::optim
