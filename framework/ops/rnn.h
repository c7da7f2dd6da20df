// Recurrent layers on oneDNN's RNN primitives: LSTM and GRU over whole sequences, forward and
// backward (backpropagation through time inside oneDNN).
//
// One call is one layer, unidirectional or bidirectional; a stack of layers is composed by the
// caller (the output of one call is the input of the next). Parameters are in PyTorch's layout and
// gate order, so the tensors of a PyTorch `nn.LSTM` / `nn.GRU` state_dict map 1:1 (stack the
// `_reverse` tensors of a bidirectional layer after the forward ones on the leading axis D):
//
//   w_ih = stack(weight_ih_l{k}, weight_ih_l{k}_reverse)    [D, G*H, I]
//   w_hh = stack(weight_hh_l{k}, weight_hh_l{k}_reverse)    [D, G*H, H]
//   b_ih, b_hh likewise                                      [D, G*H]
//
// with D = 2 when bidirectional else 1, G = 4 for LSTM and 3 for GRU. The initial hidden (and cell)
// state is zero and the final state is not returned: take y[:, T-1, :H] (forward direction) and
// y[:, 0, H:] (reverse direction) if needed. There is no sequence-length masking: every sequence
// runs over all T steps.
//
// Gradients flow to x and to all four parameter tensors. Under grad mode the forward runs
// oneDNN's forward_training and keeps its workspace for backward; under NoGrad (or when no input
// needs a gradient) it runs forward_inference, which needs no workspace. Primitives, layout
// reorders and scratch buffers are built once per (cell, B, T, I, H, direction, mode) and reused.
//
// Errors: DTypeError unless every tensor is f32; ShapeError (naming the op and every shape) when
// x is not [B, T, I] with B, T, I >= 1, or a parameter does not have the shape above, or D does not
// match `bidirectional`; BackendError if oneDNN refuses a primitive.
#pragma once

#include "framework/autograd/var.h"

namespace attnlab::ops {

using autograd::Var;

/// LSTM layer, as PyTorch's nn.LSTM(batch_first=True) with one layer.
/// x [B, T, I] -> y [B, T, D*H] (directions concatenated on the last axis, forward first).
/// w_ih [D, 4H, I], w_hh [D, 4H, H], b_ih [D, 4H], b_hh [D, 4H]; gate order i, f, g, o:
///   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(...)   g = tanh(...)   o = σ(...)
///   c' = f ⊙ c + i ⊙ g                     h' = o ⊙ tanh(c')
Var lstm(const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh, bool bidirectional = false);

/// GRU layer, as PyTorch's nn.GRU(batch_first=True) with one layer (the "linear before reset"
/// form, oneDNN's lbr_gru). x [B, T, I] -> y [B, T, D*H].
/// w_ih [D, 3H, I], w_hh [D, 3H, H], b_ih [D, 3H], b_hh [D, 3H]; gate order r, z, n:
///   r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///   h' = (1 - z) ⊙ n + z ⊙ h
Var gru(const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh, bool bidirectional = false);

}  // namespace attnlab::ops
