#include "framework/optim/adam.h"

#include <cmath>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace attnlab::optim {
namespace {

AdamConfig checked(const char* name, const AdamConfig& c) {
  if (!(c.beta1 >= 0.0 && c.beta1 < 1.0) || !(c.beta2 >= 0.0 && c.beta2 < 1.0))
    throw Error(fmt::format("{}: betas must lie in [0, 1), got ({}, {})", name, c.beta1, c.beta2));
  if (!(c.eps >= 0.0)) throw Error(fmt::format("{}: eps must be >= 0, got {}", name, c.eps));
  if (!(c.weight_decay >= 0.0)) throw Error(fmt::format("{}: weight_decay must be >= 0, got {}", name, c.weight_decay));
  return c;
}

std::vector<std::string> slots(bool amsgrad) {
  std::vector<std::string> s{"exp_avg", "exp_avg_sq"};
  if (amsgrad) s.emplace_back("max_exp_avg_sq");
  return s;
}

struct AdamScalars {
  float b1, one_b1, b2, one_b2, eps, neg_step_size, bc2_sqrt, l2, shrink;
};

// One element of the update (the AVX path below performs the same operations in the same order).
template <bool kAmsgrad>
inline void adam_one(const AdamScalars& s, float& p, float g, float& m, float& v, float* vmax) {
  const float pi = p * s.shrink;
  const float gi = g + s.l2 * pi;
  m = m * s.b1 + s.one_b1 * gi;
  v = v * s.b2 + s.one_b2 * gi * gi;
  float second = v;
  if constexpr (kAmsgrad) {
    *vmax = *vmax < v ? v : *vmax;
    second = *vmax;
  }
  p = pi + s.neg_step_size * (m / (std::sqrt(second) / s.bc2_sqrt + s.eps));
}

// GCC keeps sqrt's errno branch unless the whole build uses -fno-math-errno, and that branch stops
// `#pragma omp simd` loops from vectorizing; hence explicit AVX for the bulk of the elements.
template <bool kAmsgrad>
void adam_kernel(const AdamScalars& s, float* p, const float* g, float* m, float* v, float* vmax, std::int64_t begin,
                 std::int64_t end) {
  std::int64_t i = begin;
#if defined(__AVX__)
  const __m256 shrink = _mm256_set1_ps(s.shrink), l2 = _mm256_set1_ps(s.l2), b1 = _mm256_set1_ps(s.b1),
               one_b1 = _mm256_set1_ps(s.one_b1), b2 = _mm256_set1_ps(s.b2), one_b2 = _mm256_set1_ps(s.one_b2),
               bc2_sqrt = _mm256_set1_ps(s.bc2_sqrt), eps = _mm256_set1_ps(s.eps),
               step = _mm256_set1_ps(s.neg_step_size);
  for (; i + 8 <= end; i += 8) {
    const __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), shrink);
    const __m256 gi = _mm256_add_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(l2, pi));
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(one_b1, gi));
    const __m256 vi =
        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(one_b2, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 second = vi;
    if constexpr (kAmsgrad) {
      second = _mm256_max_ps(vi, _mm256_loadu_ps(vmax + i));  // (v > vmax) ? v : vmax, as adam_one
      _mm256_storeu_ps(vmax + i, second);
    }
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(second), bc2_sqrt), eps);
    _mm256_storeu_ps(p + i, _mm256_add_ps(pi, _mm256_mul_ps(step, _mm256_div_ps(mi, denom))));
  }
#endif
  for (; i < end; ++i) adam_one<kAmsgrad>(s, p[i], g[i], m[i], v[i], kAmsgrad ? vmax + i : nullptr);
}

}  // namespace

Adam::Adam(std::vector<Var> params, const AdamConfig& config) : Adam("adam", std::move(params), config, false) {}

Adam::Adam(const char* name, std::vector<Var> params, const AdamConfig& config, bool decoupled)
    : Optimizer(name, std::move(params), config.lr, slots(config.amsgrad)), cfg_(checked(name, config)),
      decoupled_(decoupled) {}

AdamW::AdamW(std::vector<Var> params, const AdamWConfig& c)
    : Adam("adamw", std::move(params),
           AdamConfig{.lr = c.lr,
                      .beta1 = c.beta1,
                      .beta2 = c.beta2,
                      .eps = c.eps,
                      .weight_decay = c.weight_decay,
                      .amsgrad = c.amsgrad},
           true) {}

void Adam::update(const Update& u, std::int64_t begin, std::int64_t end) const {
  const auto t = static_cast<double>(u.step);
  const double bc1 = 1.0 - std::pow(cfg_.beta1, t);
  const double bc2 = 1.0 - std::pow(cfg_.beta2, t);
  AdamScalars s{};
  s.b1 = static_cast<float>(cfg_.beta1);
  s.one_b1 = static_cast<float>(1.0 - cfg_.beta1);
  s.b2 = static_cast<float>(cfg_.beta2);
  s.one_b2 = static_cast<float>(1.0 - cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  s.neg_step_size = static_cast<float>(-static_cast<double>(u.lr) / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  // Adam folds decay into the gradient (l2); AdamW shrinks the parameter first.
  s.l2 = decoupled_ ? 0.0f : static_cast<float>(cfg_.weight_decay);
  s.shrink = decoupled_ ? static_cast<float>(1.0 - static_cast<double>(u.lr) * cfg_.weight_decay) : 1.0f;
  if (cfg_.amsgrad)
    adam_kernel<true>(s, u.param, u.grad, u.slot[0], u.slot[1], u.slot[2], begin, end);
  else
    adam_kernel<false>(s, u.param, u.grad, u.slot[0], u.slot[1], nullptr, begin, end);
}

}  // namespace attnlab::optim
