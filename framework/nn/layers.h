// Standard layers built from framework ops, with PyTorch's default initialisations, so that a
// model here and its PyTorch twin start from the same distributions. Plugins compose these.
#pragma once

#include "framework/nn/module.h"
#include "framework/ops/matmul.h"

namespace attnlab::nn {

/// y = x Wᵀ + b (+ a fused activation). x [..., in] -> [..., out]; W [out, in], b [out].
/// Initialisation as torch.nn.Linear: W and b from U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(std::int64_t in, std::int64_t out, bool bias, core::Rng& rng);
  Var forward(const Var& x, ops::Activation act = ops::Activation::none) const;
  const Var& weight() const { return w_; }
  const Var& bias() const { return b_; }

 private:
  Var w_, b_;
};

/// Rows of a [vocab, dim] table. ids i64 [...] -> [..., dim]. Initialisation as torch.nn.Embedding:
/// N(0, 1), with the padding row (if padding_idx >= 0) zero; that row never receives a gradient.
class Embedding : public Module {
 public:
  Embedding(std::int64_t vocab, std::int64_t dim, std::int64_t padding_idx, core::Rng& rng);
  /// The same with the table drawn from `init` (the padding row still zero).
  Embedding(std::int64_t vocab, std::int64_t dim, std::int64_t padding_idx, const Init& init);
  Var forward(const core::Tensor& ids) const;
  const Var& table() const { return table_; }

 private:
  Var table_;
  std::int64_t padding_idx_;
};

/// Position information added to a sequence: x [B, T, dim] -> x + P[max_len - T:] (the last T rows:
/// sequences are left-padded, so a step's position does not depend on how much padding its batch
/// carries), with P either learned
/// ([max_len, dim], N(0, 1) as an embedding; BERT, SASRec) or fixed sinusoids (Vaswani et al. 2017:
/// P[t, 2i] = sin(t / 10000^(2i/dim)), P[t, 2i+1] = cos(...)). Throws ShapeError for T > max_len.
class Positions : public Module {
 public:
  Positions(bool learned, std::int64_t max_len, std::int64_t dim, core::Rng& rng);
  /// Learned positions drawn from `init`.
  Positions(std::int64_t max_len, std::int64_t dim, const Init& init);
  Var forward(const Var& x) const;

 private:
  Var table_;  // [max_len, dim]: a parameter when learned, a constant otherwise
};

enum class Cell { lstm, gru };

/// A stack of LSTM or GRU layers on oneDNN's RNN primitives. x [B, T, in] -> [B, T, D*hidden] with
/// D = 2 when bidirectional (directions concatenated). Layer l holds w_ih_l{l} [D, G*hidden, in_l],
/// w_hh_l{l} [D, G*hidden, hidden], b_ih_l{l} and b_hh_l{l} [D, G*hidden] (G = 4 for LSTM, 3 for GRU),
/// in PyTorch's gate order, initialised from U(-1/sqrt(hidden), 1/sqrt(hidden)) as torch.nn.LSTM/GRU.
class Recurrent : public Module {
 public:
  Recurrent(Cell cell, std::int64_t in, std::int64_t hidden, int layers, bool bidirectional, core::Rng& rng);
  Var forward(const Var& x) const;
  std::int64_t out_dim() const { return hidden_ * (bidirectional_ ? 2 : 1); }

 private:
  struct Layer {
    Var w_ih, w_hh, b_ih, b_hh;
  };
  Cell cell_;
  std::int64_t hidden_;
  bool bidirectional_;
  std::vector<Layer> layers_;
};

/// Normalisation over the last axis with a learned scale (ones) and shift (zeros).
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::int64_t dim, float eps = 1e-5f);
  Var forward(const Var& x) const;

 private:
  Var gamma_, beta_;
  float eps_;
};

}  // namespace attnlab::nn
