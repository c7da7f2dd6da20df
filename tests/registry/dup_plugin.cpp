// A plugin library that registers attention/hello again: loading it after the example must fail
// naming both origins (load_plugin_main.cpp).
#include "framework/model/families.h"
#include "framework/registry/registry.h"

namespace duplicate {

struct DupConfig {
  template <class V>
  void visit(V&) {}
};

class DupAttention : public attnlab::model::Attention {
 public:
  DupAttention(const DupConfig&, const Context&) {}
  attnlab::autograd::Var forward(const attnlab::autograd::Var& x, const attnlab::core::Tensor&,
                                 const attnlab::autograd::Var&) override {
    return x;
  }
  std::int64_t out_dim() const override { return 0; }
};

}  // namespace duplicate

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Attention, hello, duplicate::DupAttention, duplicate::DupConfig,
                        "a duplicate of hello");
