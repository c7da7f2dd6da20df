// pooling/flatten: concatenate every step (the founding article's choice): [B, T, H] -> [B, T*H].
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct FlattenConfig {
  template <class V>
  void visit(V&) {}
};

class FlattenPooling : public model::Pooling {
 public:
  FlattenPooling(const FlattenConfig&, const Context& ctx) : out_(ctx.dim * ctx.seq_len) {}
  Var forward(const Var& x, const Tensor&) override { return ops::flatten(x, 1); }
  std::int64_t out_dim() const override { return out_; }
  bool fixed_length() const override { return true; }

 private:
  std::int64_t out_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Pooling, flatten, attnlab::plugins::FlattenPooling,
                        attnlab::plugins::FlattenConfig, "concatenate all steps (needs a fixed sequence length)");
