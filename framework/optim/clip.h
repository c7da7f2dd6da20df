// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_ with norm_type 2, 1.13).
#pragma once

#include "framework/autograd/var.h"

#include <vector>

namespace attnlab::optim {

/// Computes the L2 norm of all gradients together (parameters whose grad is undefined are skipped)
/// and, when coef = max_norm / (norm + 1e-6) is below 1, multiplies every gradient by coef, so
/// that the clipped norm is just under max_norm. Returns the norm *before* clipping (0 when no
/// parameter has a gradient). A non-finite norm is returned as is and the gradients are left
/// unscaled (PyTorch without error_if_nonfinite scales them by 0 or NaN), so that the caller can
/// name the gradient that was not finite: check the returned norm. Gradients shared with other tensors are
/// replaced by scaled copies; owned ones are scaled in place. Throws attnlab::Error when max_norm
/// is negative or NaN.
float clip_grad_norm(const std::vector<autograd::Var>& params, float max_norm);

}  // namespace attnlab::optim
