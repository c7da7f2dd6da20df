#include "framework/optim/sgd.h"

namespace attnlab::optim {
namespace {

SgdConfig checked(const SgdConfig& c) {
  if (!(c.momentum >= 0.0)) throw Error(fmt::format("sgd: momentum must be >= 0, got {}", c.momentum));
  if (!(c.weight_decay >= 0.0)) throw Error(fmt::format("sgd: weight_decay must be >= 0, got {}", c.weight_decay));
  if (c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0))
    throw Error(
        fmt::format("sgd: nesterov momentum needs momentum > 0 and dampening = 0, got momentum {} and dampening {}",
                    c.momentum, c.dampening));
  return c;
}

}  // namespace

Sgd::Sgd(std::vector<Var> params, const SgdConfig& config)
    : Optimizer("sgd", std::move(params), config.lr,
                config.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}),
      cfg_(checked(config)) {}

void Sgd::update(const Update& u, std::int64_t begin, std::int64_t end) const {
  float* p = u.param;
  const float* g = u.grad;
  const auto wd = static_cast<float>(cfg_.weight_decay);
  const auto mom = static_cast<float>(cfg_.momentum);
  const auto keep = static_cast<float>(1.0 - cfg_.dampening);
  const float neg_lr = -u.lr;
  if (cfg_.momentum == 0.0) {
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) p[i] += neg_lr * (g[i] + wd * p[i]);
    return;
  }
  float* buf = u.slot[0];
  const bool first = u.step == 1;
  const bool nesterov = cfg_.nesterov;
#pragma omp simd
  for (std::int64_t i = begin; i < end; ++i) {
    const float d = g[i] + wd * p[i];
    const float b = first ? d : buf[i] * mom + keep * d;
    buf[i] = b;
    p[i] += neg_lr * (nesterov ? d + mom * b : b);
  }
}

}  // namespace attnlab::optim
