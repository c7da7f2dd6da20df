// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// with exactly torch.optim.SGD's (1.13) update. Per element, with g the gradient and p the parameter:
//
//   d = g + weight_decay * p
//   if momentum != 0:
//     b = d                                  on the parameter's first update
//     b = momentum * b + (1 - dampening) * d  afterwards
//     d = nesterov ? d + momentum * b : b
//   p = p - lr * d
//
// Slot: "momentum_buffer" (only when momentum != 0).
#pragma once

#include "framework/optim/optimizer.h"

namespace attnlab::optim {

struct SgdConfig {
  float lr = 0.01f;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;

  template <class V>
  void visit(V& v) {
    v("lr", lr).min(0).doc("learning rate");
    v("momentum", momentum).min(0).doc("momentum factor (0: plain SGD)");
    v("dampening", dampening).range(0, 1).doc("dampening of the momentum buffer");
    v("nesterov", nesterov).doc("Nesterov momentum (needs momentum > 0 and dampening 0)");
    v("weight_decay", weight_decay).min(0).doc("L2 penalty added to the gradient");
  }
};

class Sgd : public Optimizer {
 public:
  /// Throws attnlab::Error for a negative lr, momentum or weight_decay, and for nesterov without
  /// momentum > 0 and dampening = 0 (as PyTorch does); and as Optimizer's constructor does.
  Sgd(std::vector<Var> params, const SgdConfig& config);
  const SgdConfig& config() const { return cfg_; }

 protected:
  void update(const Update& u, std::int64_t begin, std::int64_t end) const override;

 private:
  SgdConfig cfg_;
};

}  // namespace attnlab::optim
