#include "framework/nn/init.h"

#include <algorithm>
#include <cmath>

namespace attnlab::nn {
namespace {

Tensor fill_uniform(const Shape& s, core::Rng& rng, float a, float b) {
  Tensor t = Tensor::empty(s);
  float* p = t.f32();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.uniform(a, b);
  return t;
}

Tensor fill_normal(const Shape& s, core::Rng& rng, float mean, float std) {
  Tensor t = Tensor::empty(s);
  float* p = t.f32();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = rng.normal(mean, std);
  return t;
}

double kaiming_std(const Shape& s, const char* op, float a, FanMode mode, Nonlinearity nl) {
  const auto [fan_in, fan_out] = fans(s, op);
  // A zero fan means no elements: any finite std will do.
  const std::int64_t fan = std::max<std::int64_t>(1, mode == FanMode::fan_in ? fan_in : fan_out);
  return gain(nl, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Shape& s, const char* op, float g) {
  const auto [fan_in, fan_out] = fans(s, op);
  return g * std::sqrt(2.0 / static_cast<double>(std::max<std::int64_t>(1, fan_in + fan_out)));
}

}  // namespace

double gain(Nonlinearity nonlinearity, double a) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid:
      return 1.0;
    case Nonlinearity::tanh:
      return 5.0 / 3.0;
    case Nonlinearity::relu:
      return std::sqrt(2.0);
    case Nonlinearity::leaky_relu:
      return std::sqrt(2.0 / (1.0 + a * a));
    case Nonlinearity::selu:
      return 3.0 / 4.0;
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> fans(const Shape& shape, const char* op) {
  if (shape.rank() < 2)
    throw ShapeError(op,
                     fmt::format("fan in and fan out need a shape of rank >= 2 ([out, in, ...]), got {}", shape.str()));
  const std::int64_t receptive = shape.prod(2, shape.rank());
  return {shape[1] * receptive, shape[0] * receptive};
}

namespace init {

Init zeros() {
  return [](const Shape& s) { return Tensor::zeros(s); };
}

Init ones() { return constant(1.0f); }

Init constant(float value) {
  return [value](const Shape& s) { return Tensor::full(s, value); };
}

Init normal(core::Rng& rng, float mean, float std) {
  if (!(std >= 0.0f)) throw Error(fmt::format("init.normal: std must be >= 0, got {}", std));
  return [&rng, mean, std](const Shape& s) { return fill_normal(s, rng, mean, std); };
}

Init trunc_normal(core::Rng& rng, float std, float cut) {
  if (!(std >= 0.0f) || !(cut > 0.0f))
    throw Error(fmt::format("init.trunc_normal: needs std >= 0 and cut > 0, got {} and {}", std, cut));
  return [&rng, std, cut](const Shape& s) {
    Tensor t = Tensor::empty(s);
    float* p = t.f32();
    for (std::int64_t i = 0, n = t.numel(); i < n; ++i) {
      double z = rng.normal();
      while (std::abs(z) > cut) z = rng.normal();  // redraw outside [-cut, cut]: P(redraw) = 4.6% at cut 2
      p[i] = static_cast<float>(z) * std;
    }
    return t;
  };
}

Init uniform(core::Rng& rng, float a, float b) {
  if (!(a <= b)) throw Error(fmt::format("init.uniform: needs a <= b, got [{}, {}]", a, b));
  return [&rng, a, b](const Shape& s) { return fill_uniform(s, rng, a, b); };
}

Init xavier_uniform(core::Rng& rng, float g) {
  return [&rng, g](const Shape& s) {
    const auto bound = static_cast<float>(std::sqrt(3.0) * xavier_std(s, "init.xavier_uniform", g));
    return fill_uniform(s, rng, -bound, bound);
  };
}

Init xavier_normal(core::Rng& rng, float g) {
  return [&rng, g](const Shape& s) {
    return fill_normal(s, rng, 0.0f, static_cast<float>(xavier_std(s, "init.xavier_normal", g)));
  };
}

Init kaiming_uniform(core::Rng& rng, float a, FanMode mode, Nonlinearity nonlinearity) {
  return [&rng, a, mode, nonlinearity](const Shape& s) {
    const auto bound =
        static_cast<float>(std::sqrt(3.0) * kaiming_std(s, "init.kaiming_uniform", a, mode, nonlinearity));
    return fill_uniform(s, rng, -bound, bound);
  };
}

Init kaiming_normal(core::Rng& rng, float a, FanMode mode, Nonlinearity nonlinearity) {
  return [&rng, a, mode, nonlinearity](const Shape& s) {
    return fill_normal(s, rng, 0.0f, static_cast<float>(kaiming_std(s, "init.kaiming_normal", a, mode, nonlinearity)));
  };
}

}  // namespace init
}  // namespace attnlab::nn
