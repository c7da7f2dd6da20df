// 1-D and 2-D convolutions on oneDNN's convolution primitives (forward, backward data, backward
// weights), with PyTorch's semantics and layouts:
//   conv1d: x [N, C, W],    w [O, C, K],      b [O]  ->  y [N, O, W_out]
//           (channels_last: x [N, W, C] -> y [N, W_out, O], the same convolution)
//   conv2d: x [N, C, H, W], w [O, C, KH, KW], b [O]  ->  y [N, O, H_out, W_out]
// y[n, o, i] = b[o] + sum_{c, k} w[o, c, k] * x_padded[n, c, i * stride + k * dilation], where x is
// zero-padded on each side, and for every spatial axis
//   out = floor((in + pad_low + pad_high - dilation * (kernel - 1) - 1) / stride) + 1
// (input positions past the last full window are ignored, as in PyTorch). This is cross-correlation,
// like torch.nn.functional.conv1d/conv2d; there are no groups.
//
// The bias is optional: pass an undefined Var (`{}`) for none. Gradients flow to x, w and b.
// oneDNN chooses the layouts it computes in (format_tag::any); inputs and outputs stay plain
// row-major, converted only when oneDNN's choice differs. Kernels are built once per (shapes,
// options) and reused (onednn::cached).
//
// Throws (naming the op and every shape):
//   DTypeError  when x, w or b is not f32;
//   ShapeError  on a wrong rank (x and w must be 3-D for conv1d, 4-D for conv2d; b 1-D), when x's
//               channels differ from w's input channels, when b's length differs from w's output
//               channels, on stride < 1, dilation < 1 or negative padding, on an empty dimension,
//               and when the dilated kernel is larger than the padded input (no output position).
#pragma once

#include "framework/autograd/var.h"

#include <array>

namespace attnlab::ops {

using autograd::Var;

struct Conv1dOptions {
  int stride = 1;
  int pad_left = 0;   // zeros before the first position
  int pad_right = 0;  // zeros after the last position
  int dilation = 1;   // as in PyTorch: 1 means none (a kernel tap every `dilation` positions)
  // x is [N, W, C] and y [N, W_out, O] (time-major, as sequence models hold their activations):
  // no transposes around the convolution, and oneDNN computes in this layout directly.
  bool channels_last = false;
};

/// x [N, C, W], w [O, C, K], b [O] (undefined Var: no bias) -> [N, O, W_out]; with
/// o.channels_last, x [N, W, C] -> [N, W_out, O].
/// Asymmetric padding allows causal convolutions (pad_left = dilation * (K - 1), pad_right = 0:
/// y[.., t] depends on x[.., <= t] only, and W_out = W), as NextItNet needs. PyTorch's
/// `padding=p` is pad_left = pad_right = p.
Var conv1d(const Var& x, const Var& w, const Var& b = {}, Conv1dOptions o = {});

struct Conv2dOptions {
  std::array<int, 2> stride{1, 1};    // (height, width)
  std::array<int, 2> padding{0, 0};   // zeros on both sides: (top = bottom, left = right)
  std::array<int, 2> dilation{1, 1};  // as in PyTorch: 1 means none
};

/// x [N, C, H, W], w [O, C, KH, KW], b [O] (undefined Var: no bias) -> [N, O, H_out, W_out].
Var conv2d(const Var& x, const Var& w, const Var& b = {}, Conv2dOptions o = {});

}  // namespace attnlab::ops
