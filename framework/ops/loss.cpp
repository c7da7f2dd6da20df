#include "framework/ops/loss.h"

#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

namespace attnlab::ops {
namespace {

using Range = tbb::blocked_range<std::int64_t>;

// About this many elements per TBB task: smaller chunks cost more in scheduling than they gain.
constexpr std::int64_t kGrainElems = 16384;

std::int64_t grain_rows(std::int64_t row_len) {
  return std::max<std::int64_t>(1, kGrainElems / std::max<std::int64_t>(row_len, 1));
}

// exp(x) for x <= 0 with Cephes' range reduction and degree-6 polynomial (about 2 ulp), in plain
// arithmetic so that `omp simd` loops vectorise it: glibc's expf has no vector variant without
// -ffast-math, and a scalar call per logit would dominate the cross-entropy.
inline float exp_nonpos(float x) {
  constexpr float kShift = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer in the low mantissa bits
  const float xc = std::max(x, -87.f);
  const float t = xc * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const std::int32_t ni = std::bit_cast<std::int32_t>(t) - std::bit_cast<std::int32_t>(kShift);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const float v = p * std::bit_cast<float>((ni + 127) << 23);
  return x < -87.f ? 0.f : v;
}

void require_f32_tensor(const char* op, const core::Tensor& t, const char* what) {
  if (t.dtype() != DType::f32)
    throw DTypeError(op, fmt::format("{} must be f32, got {} {}", what, core::name_of(t.dtype()), t.shape().str()));
}

// Checks target (and weight, if defined) against the input; returns the denominator of the mean.
double check_elementwise(const char* op, const Var& x, const core::Tensor& target, const core::Tensor& weight) {
  require_f32(op, x, "input");
  if (!target.defined()) throw Error(fmt::format("{}: target is undefined", op));
  require_f32_tensor(op, target, "target");
  if (target.shape() != x.shape())
    throw ShapeError(
        op, fmt::format("target {} must have the shape of the input {}", target.shape().str(), x.shape().str()));
  if (!weight.defined()) return static_cast<double>(x.value().numel());
  require_f32_tensor(op, weight, "weight");
  if (weight.shape() != x.shape())
    throw ShapeError(op, fmt::format("weight {} must have the shape of the input {} (target {})", weight.shape().str(),
                                     x.shape().str(), target.shape().str()));
  const float* w = weight.f32();
  return tbb::parallel_deterministic_reduce(
      Range(0, weight.numel(), kGrainElems), 0.0,
      [w](const Range& rg, double acc) {
        float s = 0.f;
#pragma omp simd reduction(+ : s)
        for (std::int64_t i = rg.begin(); i < rg.end(); ++i) s += w[i];
        return acc + s;
      },
      std::plus<>());
}

// Mean over elements of f(x_i, t_i) (weighted by w_i when a weight is given), divided by `denom`.
template <class F>
float elementwise_mean(const core::Tensor& x, const core::Tensor& target, const core::Tensor& weight, double denom,
                       F f) {
  if (denom == 0.0) return 0.f;
  const float* xp = x.f32();
  const float* tp = target.f32();
  const float* wp = weight.defined() ? weight.f32() : nullptr;
  const double sum = tbb::parallel_deterministic_reduce(
      Range(0, x.numel(), kGrainElems), 0.0,
      [&](const Range& rg, double acc) {
        double s = 0.0;
        if (wp) {
          for (std::int64_t i = rg.begin(); i < rg.end(); ++i) s += static_cast<double>(wp[i] * f(xp[i], tp[i]));
        } else {
          for (std::int64_t i = rg.begin(); i < rg.end(); ++i) s += static_cast<double>(f(xp[i], tp[i]));
        }
        return acc + s;
      },
      std::plus<>());
  return static_cast<float>(sum / denom);
}

// gx_i = gy * w_i * d(x_i, t_i) / denom.
template <class D>
Tensor elementwise_grad(const core::Tensor& x, const core::Tensor& target, const core::Tensor& weight, double denom,
                        float gy, D d) {
  Tensor gx = Tensor::empty(x.shape());
  const float scale = denom == 0.0 ? 0.f : static_cast<float>(gy / denom);
  const float* xp = x.f32();
  const float* tp = target.f32();
  const float* wp = weight.defined() ? weight.f32() : nullptr;
  float* gp = gx.f32();
  tbb::parallel_for(Range(0, x.numel(), kGrainElems), [&](const Range& rg) {
    if (wp) {
      for (std::int64_t i = rg.begin(); i < rg.end(); ++i) gp[i] = scale * wp[i] * d(xp[i], tp[i]);
    } else {
      for (std::int64_t i = rg.begin(); i < rg.end(); ++i) gp[i] = scale * d(xp[i], tp[i]);
    }
  });
  return gx;
}

}  // namespace

Var softmax_cross_entropy(const Var& logits, const core::Tensor& target, std::int64_t ignore_index,
                          float label_smoothing) {
  constexpr const char* op = "softmax_cross_entropy";
  require_f32(op, logits, "logits");
  require_i64(op, target, "target");
  const Shape& ls = logits.shape();
  if (ls.rank() == 0) throw ShapeError(op, "logits must have rank >= 1 (classes last), got a scalar []");
  const Shape want(std::vector<std::int64_t>(ls.begin(), ls.end() - 1));
  if (target.shape() != want)
    throw ShapeError(op, fmt::format("target {} must be logits' shape without the class axis, {} (logits {})",
                                     target.shape().str(), want.str(), ls.str()));
  if (!(label_smoothing >= 0.f && label_smoothing <= 1.f))
    throw Error(fmt::format("{}: label_smoothing must be in [0, 1], got {}", op, label_smoothing));

  const std::int64_t c = ls[-1], rows = want.numel();
  const std::int64_t* tp = target.i64();
  std::int64_t count = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (tp[r] == ignore_index) continue;
    if (tp[r] < 0 || tp[r] >= c) {
      std::vector<std::int64_t> pos(static_cast<std::size_t>(want.rank()));
      for (std::int64_t i = want.rank() - 1, f = r; i >= 0; --i) {
        pos[static_cast<std::size_t>(i)] = f % want[static_cast<int>(i)];
        f /= want[static_cast<int>(i)];
      }
      throw IndexError(
          op, fmt::format("target {} at position [{}] is outside [0, {}) (ignore_index {}; logits {}, target {})",
                          tp[r], fmt::join(pos, ", "), c, ignore_index, ls.str(), target.shape().str()));
    }
    ++count;
  }

  // Probabilities are kept only when a backward will need them.
  const bool keep = autograd::grad_enabled() && logits.requires_grad();
  Tensor prob = keep ? Tensor::empty(ls) : Tensor();
  const float* xp = logits.value().f32();
  float* pp = keep ? prob.f32() : nullptr;
  const double on_target = 1.0 - label_smoothing, uniform = c > 0 ? label_smoothing / static_cast<double>(c) : 0.0;
  const bool smooth = label_smoothing > 0.f;

  const double total = tbb::parallel_deterministic_reduce(
      Range(0, rows, grain_rows(c)), 0.0,
      [&](const Range& rg, double acc) {
        for (std::int64_t r = rg.begin(); r < rg.end(); ++r) {
          if (tp[r] == ignore_index) continue;
          const float* x = xp + r * c;
          float m = -INFINITY;
      // A ternary, not std::max: std::max's reference arguments keep GCC from vectorising the reduction.
#pragma omp simd reduction(max : m)
          for (std::int64_t j = 0; j < c; ++j) m = m > x[j] ? m : x[j];
          float s = 0.f, sx = 0.f;
          if (pp) {
            float* p = pp + r * c;
#pragma omp simd reduction(+ : s)
            for (std::int64_t j = 0; j < c; ++j) {
              p[j] = exp_nonpos(x[j] - m);
              s += p[j];
            }
            const float inv = 1.f / s;
#pragma omp simd
            for (std::int64_t j = 0; j < c; ++j) p[j] *= inv;
          } else {
#pragma omp simd reduction(+ : s)
            for (std::int64_t j = 0; j < c; ++j) s += exp_nonpos(x[j] - m);
          }
          if (smooth) {
#pragma omp simd reduction(+ : sx)
            for (std::int64_t j = 0; j < c; ++j) sx += x[j];
          }
          // -sum_j q_j log p_j = lse - (1 - eps) x_t - (eps / C) sum_j x_j, since sum_j q_j = 1.
          const double lse = static_cast<double>(m) + std::log(static_cast<double>(s));
          acc += lse - on_target * static_cast<double>(x[tp[r]]) - uniform * static_cast<double>(sx);
        }
        return acc;
      },
      std::plus<>());

  Tensor loss = Tensor::scalar(count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.f);
  if (!keep) return autograd::make_result(loss, {logits}, op, nullptr);
  return autograd::make_result(
      loss, {logits}, op, [prob, target, ignore_index, count, on_target, uniform](const Tensor& gy, Grads& g) {
        const std::int64_t n = prob.shape()[-1], nrows = target.numel();
        Tensor gx = Tensor::empty(prob.shape());
        const float scale = count > 0 ? gy.item() / static_cast<float>(count) : 0.f;
        const float off = static_cast<float>(uniform) * scale, on = static_cast<float>(on_target) * scale;
        const float* p = prob.f32();
        const std::int64_t* t = target.i64();
        float* o = gx.f32();
        tbb::parallel_for(Range(0, nrows, grain_rows(n)), [&](const Range& rg) {
          for (std::int64_t r = rg.begin(); r < rg.end(); ++r) {
            float* orow = o + r * n;
            if (t[r] == ignore_index) {
              std::fill(orow, orow + n, 0.f);
              continue;
            }
            const float* prow = p + r * n;
#pragma omp simd
            for (std::int64_t j = 0; j < n; ++j) orow[j] = prow[j] * scale - off;
            orow[t[r]] -= on;
          }
        });
        g.add(0, std::move(gx));
      });
}

Var bce_with_logits(const Var& logits, const core::Tensor& target, const core::Tensor& weight) {
  constexpr const char* op = "bce_with_logits";
  const double denom = check_elementwise(op, logits, target, weight);
  const Tensor x = logits.value();
  Tensor loss = Tensor::scalar(elementwise_mean(x, target, weight, denom, [](float xi, float ti) {
    return std::max(xi, 0.f) - xi * ti + std::log1p(std::exp(-std::abs(xi)));
  }));
  return autograd::make_result(loss, {logits}, op, [x, target, weight, denom](const Tensor& gy, Grads& g) {
    g.add(0, elementwise_grad(x, target, weight, denom, gy.item(),
                              [](float xi, float ti) { return 1.f / (1.f + std::exp(-xi)) - ti; }));
  });
}

Var mse_loss(const Var& pred, const core::Tensor& target, const core::Tensor& weight) {
  constexpr const char* op = "mse_loss";
  const double denom = check_elementwise(op, pred, target, weight);
  const Tensor x = pred.value();
  Tensor loss = Tensor::scalar(elementwise_mean(x, target, weight, denom, [](float xi, float ti) {
    const float d = xi - ti;
    return d * d;
  }));
  return autograd::make_result(loss, {pred}, op, [x, target, weight, denom](const Tensor& gy, Grads& g) {
    g.add(0, elementwise_grad(x, target, weight, denom, gy.item(), [](float xi, float ti) { return 2.f * (xi - ti); }));
  });
}

Var l1_loss(const Var& pred, const core::Tensor& target, const core::Tensor& weight) {
  constexpr const char* op = "l1_loss";
  const double denom = check_elementwise(op, pred, target, weight);
  const Tensor x = pred.value();
  Tensor loss =
      Tensor::scalar(elementwise_mean(x, target, weight, denom, [](float xi, float ti) { return std::abs(xi - ti); }));
  return autograd::make_result(loss, {pred}, op, [x, target, weight, denom](const Tensor& gy, Grads& g) {
    g.add(0, elementwise_grad(x, target, weight, denom, gy.item(),
                              [](float xi, float ti) { return xi > ti ? 1.f : (xi < ti ? -1.f : 0.f); }));
  });
}

Var huber_loss(const Var& pred, const core::Tensor& target, float delta, const core::Tensor& weight) {
  constexpr const char* op = "huber_loss";
  if (!(delta > 0.f)) throw Error(fmt::format("{}: delta must be > 0, got {}", op, delta));
  const double denom = check_elementwise(op, pred, target, weight);
  const Tensor x = pred.value();
  Tensor loss = Tensor::scalar(elementwise_mean(x, target, weight, denom, [delta](float xi, float ti) {
    const float d = xi - ti, a = std::abs(d);
    return a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
  }));
  return autograd::make_result(loss, {pred}, op, [x, target, weight, denom, delta](const Tensor& gy, Grads& g) {
    g.add(0, elementwise_grad(x, target, weight, denom, gy.item(),
                              [delta](float xi, float ti) { return std::clamp(xi - ti, -delta, delta); }));
  });
}

ATTNLAB_OP(softmax_cross_entropy, true, "native",
           "fused log-softmax + NLL over the last axis, ignore_index, label smoothing");
ATTNLAB_OP(bce_with_logits, true, "native", "binary cross-entropy on logits, optional elementwise weight");
ATTNLAB_OP(mse_loss, true, "native", "mean squared error, optional elementwise weight");
ATTNLAB_OP(l1_loss, true, "native", "mean absolute error, optional elementwise weight");
ATTNLAB_OP(huber_loss, true, "native", "Huber loss with threshold delta, optional elementwise weight");

}  // namespace attnlab::ops
