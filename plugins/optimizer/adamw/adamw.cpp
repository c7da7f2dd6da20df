// optimizer/adamw: Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW.
#include "framework/optim/adam.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

class AdamWPlugin : public optim::AdamW {
 public:
  AdamWPlugin(const optim::AdamWConfig& cfg, const Context& ctx) : AdamW(ctx.params, cfg) {}
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::optim::Optimizer, adamw, attnlab::plugins::AdamWPlugin, attnlab::optim::AdamWConfig,
                        "Adam with decoupled weight decay");
