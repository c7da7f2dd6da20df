// attention/none: the baseline without attention; the sequence passes through unchanged.
#include "framework/model/families.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct NoAttentionConfig {
  template <class V>
  void visit(V&) {}
};

class NoAttention : public model::Attention {
 public:
  NoAttention(const NoAttentionConfig&, const Context& ctx) : dim_(ctx.dim) {}
  Var forward(const Var& x, const Tensor&, const Var&) override { return x; }
  std::int64_t out_dim() const override { return dim_; }
  bool causal() const override { return true; }

 private:
  std::int64_t dim_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Attention, none, attnlab::plugins::NoAttention,
                        attnlab::plugins::NoAttentionConfig, "no attention (baseline)");
