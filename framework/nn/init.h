// Parameter initializers with PyTorch's conventions (torch.nn.init, 1.13).
//
// An `Init` makes the initial value of a parameter of a given shape. Random initializers draw
// from the core::Rng they are given, element by element in row-major order, so the same seed gives
// the same parameters on every machine. They hold the Rng *by reference*: use an Init while the
// Rng is alive (Module::add_param calls it at once).
//
// Fans follow torch.nn.init._calculate_fan_in_and_fan_out for weights laid out [out, in, k...]:
//   receptive = k0 * k1 * ...   (1 for a rank-2 matrix)
//   fan_in    = shape[1] * receptive
//   fan_out   = shape[0] * receptive
// so a Linear weight [out, in] has fan_in = in, and a Conv1d weight [out, in, k] has fan_in = in*k.
// Initializers that need fans (xavier_*, kaiming_*) throw ShapeError for rank < 2, as PyTorch does.
//
// Formulas (gain from `gain(nonlinearity, a)` below):
//   xavier_uniform(g)   U(-b, b),  b   = g * sqrt(6 / (fan_in + fan_out))
//   xavier_normal(g)    N(0, s^2), s   = g * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform     U(-b, b),  b   = gain * sqrt(3 / fan)
//   kaiming_normal      N(0, s^2), s   = gain / sqrt(fan)      (fan = fan_in or fan_out by `mode`)
// PyTorch's own nn.Linear / nn.Conv weights use kaiming_uniform(a = sqrt(5)), i.e. U(+-1/sqrt(fan_in)).
#pragma once

#include "framework/core/rng.h"
#include "framework/core/tensor.h"

#include <functional>
#include <utility>

namespace attnlab::nn {

using core::Shape;
using core::Tensor;

/// Makes a parameter's initial f32 value of the given shape.
using Init = std::function<Tensor(const Shape&)>;

/// The nonlinearity that follows a layer, for the recommended gain (torch.nn.init.calculate_gain).
enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
/// Which fan kaiming_* preserves: the forward pass's variance (fan_in) or the backward's (fan_out).
enum class FanMode { fan_in, fan_out };

/// PyTorch's calculate_gain: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2) (relu),
/// sqrt(2 / (1 + a^2)) (leaky_relu with negative slope a), 3/4 (selu).
double gain(Nonlinearity nonlinearity, double a = 0.01);

/// (fan_in, fan_out) of a weight of shape [out, in, k...]; throws ShapeError naming `op` for rank < 2.
std::pair<std::int64_t, std::int64_t> fans(const Shape& shape, const char* op = "init.fans");

namespace init {

Init zeros();
Init ones();
Init constant(float value);
/// N(mean, std^2); throws attnlab::Error if std < 0.
Init normal(core::Rng& rng, float mean = 0.0f, float std = 1.0f);
/// U(a, b); throws attnlab::Error if a > b.
/// N(0, std^2) truncated to [-cut * std, cut * std] by redrawing (BERT's initializer: cut 2).
Init trunc_normal(core::Rng& rng, float std, float cut = 2.0f);
Init uniform(core::Rng& rng, float a = 0.0f, float b = 1.0f);
/// Glorot & Bengio (2010). Throws ShapeError for rank < 2.
Init xavier_uniform(core::Rng& rng, float gain = 1.0f);
Init xavier_normal(core::Rng& rng, float gain = 1.0f);
/// He et al. (2015). `a` is the negative slope used when nonlinearity is leaky_relu (PyTorch's
/// defaults: a = 0, fan_in, leaky_relu, which gives gain sqrt(2)). Throws ShapeError for rank < 2.
Init kaiming_uniform(core::Rng& rng, float a = 0.0f, FanMode mode = FanMode::fan_in,
                     Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
Init kaiming_normal(core::Rng& rng, float a = 0.0f, FanMode mode = FanMode::fan_in,
                    Nonlinearity nonlinearity = Nonlinearity::leaky_relu);

}  // namespace init
}  // namespace attnlab::nn
