#include "framework/nn/layers.h"

#include "framework/ops/ops.h"

#include <cmath>

namespace attnlab::nn {

Linear::Linear(std::int64_t in, std::int64_t out, bool bias, core::Rng& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  w_ = add_param("weight", Shape{out, in}, init::uniform(rng, -bound, bound));
  if (bias) b_ = add_param("bias", Shape{out}, init::uniform(rng, -bound, bound));
}

Var Linear::forward(const Var& x, ops::Activation act) const { return ops::linear(x, w_, b_, act); }

Embedding::Embedding(std::int64_t vocab, std::int64_t dim, std::int64_t padding_idx, core::Rng& rng)
    : Embedding(vocab, dim, padding_idx, init::normal(rng, 0.0f, 1.0f)) {}

Embedding::Embedding(std::int64_t vocab, std::int64_t dim, std::int64_t padding_idx, const Init& init)
    : padding_idx_(padding_idx) {
  if (padding_idx >= vocab)
    throw IndexError("embedding", fmt::format("padding_idx {} outside a vocabulary of {}", padding_idx, vocab));
  table_ = add_param("table", Shape{vocab, dim}, init);
  if (padding_idx >= 0) std::fill_n(const_cast<float*>(table_.value().f32()) + padding_idx * dim, dim, 0.0f);
}

Var Embedding::forward(const core::Tensor& ids) const { return ops::embedding(table_, ids, padding_idx_); }

Positions::Positions(bool learned, std::int64_t max_len, std::int64_t dim, core::Rng& rng) {
  if (learned) {
    table_ = add_param("table", Shape{max_len, dim}, init::normal(rng, 0.0f, 1.0f));
    return;
  }
  Tensor p = Tensor::empty(Shape{max_len, dim});
  for (std::int64_t t = 0; t < max_len; ++t)
    for (std::int64_t i = 0; i < dim; ++i) {
      const double angle =
          static_cast<double>(t) / std::pow(10000.0, static_cast<double>(i - i % 2) / static_cast<double>(dim));
      p.f32()[t * dim + i] = static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  table_ = Var(p, false);
}

Positions::Positions(std::int64_t max_len, std::int64_t dim, const Init& init) {
  table_ = add_param("table", Shape{max_len, dim}, init);
}

Var Positions::forward(const Var& x) const {
  const std::int64_t T = x.shape()[1], max_len = table_.shape()[0];
  if (x.rank() != 3 || T > max_len || x.shape()[2] != table_.shape()[1])
    throw ShapeError("positions",
                     fmt::format("x {} against a position table {}", x.shape().str(), table_.shape().str()));
  // The last T rows: sequences are left-padded, so a step keeps its position however much padding a
  // batch trims (data.padding: batch); at T == max_len, every row.
  return x + ops::slice(table_, 0, max_len - T, max_len);  // [T, dim] broadcast over the batch
}

Recurrent::Recurrent(Cell cell, std::int64_t in, std::int64_t hidden, int layers, bool bidirectional, core::Rng& rng)
    : cell_(cell), hidden_(hidden), bidirectional_(bidirectional) {
  if (layers < 1) throw Error(fmt::format("recurrent: layers must be >= 1, got {}", layers));
  const std::int64_t d = bidirectional ? 2 : 1, g = (cell == Cell::lstm ? 4 : 3) * hidden;
  const float bound = 1.0f / std::sqrt(static_cast<float>(hidden));
  for (int l = 0; l < layers; ++l) {
    const std::int64_t in_l = l == 0 ? in : d * hidden;
    const auto suffix = fmt::format("_l{}", l);
    Layer layer;
    layer.w_ih = add_param("w_ih" + suffix, Shape{d, g, in_l}, init::uniform(rng, -bound, bound));
    layer.w_hh = add_param("w_hh" + suffix, Shape{d, g, hidden}, init::uniform(rng, -bound, bound));
    layer.b_ih = add_param("b_ih" + suffix, Shape{d, g}, init::uniform(rng, -bound, bound));
    layer.b_hh = add_param("b_hh" + suffix, Shape{d, g}, init::uniform(rng, -bound, bound));
    layers_.push_back(layer);
  }
}

Var Recurrent::forward(const Var& x) const {
  Var h = x;
  for (const auto& l : layers_)
    h = cell_ == Cell::lstm ? ops::lstm(h, l.w_ih, l.w_hh, l.b_ih, l.b_hh, bidirectional_)
                            : ops::gru(h, l.w_ih, l.w_hh, l.b_ih, l.b_hh, bidirectional_);
  return h;
}

LayerNorm::LayerNorm(std::int64_t dim, float eps) : eps_(eps) {
  gamma_ = add_param("weight", Shape{dim}, init::ones());
  beta_ = add_param("bias", Shape{dim}, init::zeros());
}

Var LayerNorm::forward(const Var& x) const { return ops::layer_norm(x, gamma_, beta_, eps_); }

}  // namespace attnlab::nn
