// pooling/attention_pool: pooling by a learned query vector, the word/sentence attention of
// Yang et al. (2016) "Hierarchical Attention Networks for Document Classification".
//
//   u_t     = tanh(x_t Wᵀ + b)      [B, T, A]   (projection: true; else u_t = x_t and A = dim)
//   score_t = u_t · c               c [A]: the learned context (query) vector
//   weights = softmax over the real steps         [B, T]
//   output  = Σ_t weights_t x_t     [B, dim]
//
// Padding steps get zero weight; a sequence without a real step gets all-zero weights and pools to
// zero (plugins/common/sequence.h). Parameters: proj.weight [A, dim], proj.bias [A] (with the
// projection), query [A, 1] (from U(-1/sqrt(A), 1/sqrt(A))).
#pragma once

#include "framework/config/binder.h"
#include "framework/model/families.h"
#include "framework/nn/layers.h"

#include <optional>

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct AttentionPoolConfig {
  bool projection = true;
  std::optional<std::int64_t> attention_dim;
  template <class V>
  void visit(V& v) {
    v("projection", projection).doc("score tanh(x W + b) · c as in HAN; false: x · c");
    v("attention_dim", attention_dim)
        .range(1, 65536)
        .doc("width A of the projection; absent: the input width (needs projection)");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (attention_dim && !projection)
      c.fail("attention_dim", "pooling/attention_pool: attention_dim needs projection: true");
  }
};

class AttentionPooling : public model::Pooling {
 public:
  /// Throws attnlab::Error when attention_dim is given without the projection.
  AttentionPooling(const AttentionPoolConfig& c, const Context& ctx);
  /// x [B, T, dim], mask f32 [B, T] (or undefined: every step is real) -> [B, dim].
  /// Throws ShapeError/DTypeError for a wrong x or mask.
  Var forward(const Var& x, const Tensor& mask) override;
  std::int64_t out_dim() const override { return dim_; }
  /// The attention weights [B, T] of the last forward (undefined before the first).
  const Tensor& weights() const { return weights_; }

 private:
  std::int64_t dim_;
  nn::Linear* proj_ = nullptr;
  Var query_;  // [A, 1]
  Tensor weights_;
};

}  // namespace attnlab::plugins
