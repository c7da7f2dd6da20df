// Fused losses, native kernels (TBB over rows). Each returns a scalar (shape []) and differentiates
// only its first argument: targets and weights are plain tensors, never differentiated. Sums are
// accumulated in double with a deterministic reduction, so a loss does not depend on thread count.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/tensor.h"

#include <cstdint>

namespace attnlab::ops {

using autograd::Var;

/// Softmax cross-entropy with integer targets (PyTorch's cross_entropy, reduction='mean', no class
/// weights, with the class axis last).
///   logits: [..., C] f32   target: [...] i64 (logits' shape without the last axis)  ->  []
///   q = (1 - s) * onehot(target) + s / C       (s = label_smoothing)
///   loss = sum over non-ignored rows of -sum_c q_c * log_softmax(logits)_c, divided by the number
///          of non-ignored rows (0 when every row is ignored: no NaN, unlike PyTorch).
/// Rows whose target equals ignore_index contribute nothing, and get a zero gradient.
/// One fused pass per row computes max, log-sum-exp and the loss, and saves the softmax
/// probabilities p [rows, C] (the only buffer kept); backward = gy * (p - q) / count.
/// Throws: DTypeError (logits not f32, target not i64), ShapeError (logits of rank 0, target shape
/// not logits' shape without the last axis), IndexError (a target outside [0, C) other than
/// ignore_index, naming its position in target and C), attnlab::Error (label_smoothing not in [0, 1]).
Var softmax_cross_entropy(const Var& logits, const core::Tensor& target, std::int64_t ignore_index = -100,
                          float label_smoothing = 0.f);

/// Binary cross-entropy on logits (PyTorch's binary_cross_entropy_with_logits, no pos_weight).
///   logits, target, weight (optional): the same shape, f32  ->  []
///   l_i = max(x_i, 0) - x_i * t_i + log(1 + exp(-|x_i|))       (stable for any x)
///   loss = mean_i l_i; with a weight: sum_i w_i l_i / sum_i w_i (w_i = 0 masks element i out; 0 when
///          the weights sum to 0). Note: PyTorch's weight divides by numel instead; this is the
///          masked mean.
///   d loss / d x_i = (sigmoid(x_i) - t_i) * w_i / sum(w)
/// Throws: DTypeError (any operand not f32), ShapeError (target or weight shape differs from logits').
Var bce_with_logits(const Var& logits, const core::Tensor& target, const core::Tensor& weight = {});

/// Mean squared error (PyTorch's mse_loss, reduction='mean').
///   pred, target, weight (optional): the same shape, f32  ->  []
///   loss = mean_i (x_i - t_i)^2; with a weight: sum_i w_i (x_i - t_i)^2 / sum_i w_i (0 when the
///          weights sum to 0).   d loss / d x_i = 2 w_i (x_i - t_i) / sum(w)
/// Throws: DTypeError (any operand not f32), ShapeError (target or weight shape differs from pred's).
Var mse_loss(const Var& pred, const core::Tensor& target, const core::Tensor& weight = {});

/// Mean absolute error (PyTorch's l1_loss), optional weight as mse_loss.
///   d loss / d x_i = w_i sign(x_i - t_i) / sum(w)   (0 at x_i = t_i, as PyTorch)
/// Throws: as mse_loss.
Var l1_loss(const Var& pred, const core::Tensor& target, const core::Tensor& weight = {});

/// Huber loss (PyTorch's huber_loss): 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta), with
/// d = x - t; optional weight as mse_loss.   d loss / d x_i = w_i clamp(d_i, -delta, delta) / sum(w)
/// Throws: as mse_loss; attnlab::Error when delta <= 0.
Var huber_loss(const Var& pred, const core::Tensor& target, float delta = 1.0f, const core::Tensor& weight = {});

}  // namespace attnlab::ops
