// extractor/identity: the embeddings themselves (a baseline: attention directly on the items).
#include "framework/model/families.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

using autograd::Var;
using core::Tensor;

struct IdentityConfig {
  template <class V>
  void visit(V&) {}
};

class IdentityExtractor : public model::Extractor {
 public:
  IdentityExtractor(const IdentityConfig&, const Context& ctx) : dim_(ctx.in_dim) {}
  Var forward(const Var& x, const Tensor&) override { return x; }
  std::int64_t out_dim() const override { return dim_; }
  bool causal() const override { return true; }

 private:
  std::int64_t dim_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Extractor, identity, attnlab::plugins::IdentityExtractor,
                        attnlab::plugins::IdentityConfig, "no extractor: the embeddings pass through");
