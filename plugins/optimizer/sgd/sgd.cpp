// optimizer/sgd: stochastic gradient descent with momentum, Nesterov and weight decay (torch.optim.SGD).
#include "framework/optim/sgd.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

class SgdPlugin : public optim::Sgd {
 public:
  SgdPlugin(const optim::SgdConfig& cfg, const Context& ctx) : Sgd(ctx.params, cfg) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::Optimizer, sgd, attnlab::plugins::SgdPlugin, attnlab::optim::SgdConfig,
                        "SGD with momentum, Nesterov momentum and weight decay");
