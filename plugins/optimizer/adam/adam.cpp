// optimizer/adam: Adam (Kingma & Ba 2015) with coupled L2 weight decay and AMSGrad, as torch.optim.Adam.
#include "framework/optim/adam.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

class AdamPlugin : public optim::Adam {
 public:
  AdamPlugin(const optim::AdamConfig& cfg, const Context& ctx) : Adam(ctx.params, cfg) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::Optimizer, adam, attnlab::plugins::AdamPlugin, attnlab::optim::AdamConfig,
                        "Adam with optional L2 weight decay and AMSGrad");
