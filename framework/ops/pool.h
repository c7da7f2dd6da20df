// Max and average pooling on oneDNN's pooling primitives (forward_training and backward), with
// PyTorch's semantics (ceil_mode = False, no dilation):
//   *_pool1d: x [N, C, W]    -> [N, C, W_out]
//   *_pool2d: x [N, C, H, W] -> [N, C, H_out, W_out]
// where, for every spatial axis, out = floor((in + 2 * padding - kernel) / stride) + 1.
//
// - Max pooling ignores the padding (it is -inf); its gradient goes to the maximum of each window
//   (oneDNN keeps the forward's workspace of argmax positions for the backward). With ties, which
//   of the equal inputs receives the gradient is unspecified.
// - Average pooling counts the padding as zeros in every window and always divides by the kernel
//   size (PyTorch's default count_include_pad = True; oneDNN's pooling_avg_include_padding).
//
// Kernels are built once per (shape, options) and reused (onednn::cached).
//
// Throws (naming the op, the shape and the options):
//   DTypeError  when x is not f32;
//   ShapeError  on a wrong rank (3-D for *_pool1d, 4-D for *_pool2d), an empty channel or spatial
//               dimension, kernel < 1, stride < 0, padding < 0, padding > kernel / 2 (PyTorch's
//               rule), and when the kernel is larger than the padded input (no output position).
#pragma once

#include "framework/autograd/var.h"

#include <array>

namespace attnlab::ops {

using autograd::Var;

struct Pool1dOptions {
  int kernel = 0;   // required (>= 1)
  int stride = 0;   // 0: the kernel size (non-overlapping windows)
  int padding = 0;  // on both sides; at most kernel / 2
};

/// x [N, C, W] -> [N, C, W_out].
Var max_pool1d(const Var& x, Pool1dOptions o);
Var avg_pool1d(const Var& x, Pool1dOptions o);

struct Pool2dOptions {
  std::array<int, 2> kernel{0, 0};   // (height, width); required (>= 1)
  std::array<int, 2> stride{0, 0};   // 0 on an axis: the kernel size on that axis
  std::array<int, 2> padding{0, 0};  // on both sides of each axis; at most kernel / 2
};

/// x [N, C, H, W] -> [N, C, H_out, W_out].
Var max_pool2d(const Var& x, Pool2dOptions o);
Var avg_pool2d(const Var& x, Pool2dOptions o);

/// Pools over every spatial axis: x [N, C, ...] (rank >= 3, spatial dims non-empty) -> [N, C].
/// Same as a *_pool with the kernel covering the whole input (torch's adaptive pools to size 1).
/// Throws DTypeError when x is not f32, ShapeError when rank < 3 or a channel/spatial dim is 0.
Var global_max_pool(const Var& x);
Var global_avg_pool(const Var& x);

}  // namespace attnlab::ops
