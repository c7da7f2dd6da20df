// Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), with exactly the updates of
// torch.optim.Adam and torch.optim.AdamW (1.13, single-tensor path). Per element, with g the
// gradient, p the parameter and t the parameter's update count (1 on its first update):
//
//   Adam:  g = g + weight_decay * p          (L2 penalty folded into the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)   (decoupled decay, before the moments)
//   m = beta1 * m + (1 - beta1) * g                    slot "exp_avg"
//   v = beta2 * v + (1 - beta2) * g * g                slot "exp_avg_sq"
//   amsgrad: v_max = max(v_max, v), and v_max replaces v below   slot "max_exp_avg_sq"
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p - (lr / (1 - beta1^t)) * m / denom
//
// Bias corrections are computed in double, as PyTorch computes them in Python. Note that eps is
// added *after* the bias correction of sqrt(v), as in torch.optim.Adam.
#pragma once

#include "framework/optim/optimizer.h"

namespace attnlab::optim {

struct AdamConfig {
  float lr = 1e-3f;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  ///< L2 penalty added to the gradient
  bool amsgrad = false;

  template <class V>
  void visit(V& v) {
    v("lr", lr).min(0).doc("learning rate");
    v("beta1", beta1).range(0, 1).doc("decay of the first-moment estimate");
    v("beta2", beta2).range(0, 1).doc("decay of the second-moment estimate");
    v("eps", eps).min(0).doc("added to the denominator for stability");
    v("weight_decay", weight_decay).min(0).doc("L2 penalty added to the gradient (coupled, as torch.optim.Adam)");
    v("amsgrad", amsgrad).doc("use the maximum of past second moments (Reddi et al. 2018)");
  }
};

/// AdamW's fields mean the same as Adam's; weight_decay is decoupled and defaults to 0.01 (PyTorch).
struct AdamWConfig {
  float lr = 1e-3f;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  template <class V>
  void visit(V& v) {
    v("lr", lr).min(0).doc("learning rate");
    v("beta1", beta1).range(0, 1).doc("decay of the first-moment estimate");
    v("beta2", beta2).range(0, 1).doc("decay of the second-moment estimate");
    v("eps", eps).min(0).doc("added to the denominator for stability");
    v("weight_decay", weight_decay).min(0).doc("decoupled weight decay (AdamW, Loshchilov & Hutter 2019)");
    v("amsgrad", amsgrad).doc("use the maximum of past second moments (Reddi et al. 2018)");
  }
};

class Adam : public Optimizer {
 public:
  /// Throws attnlab::Error when a beta is outside [0, 1), eps or weight_decay is negative, or as
  /// Optimizer's constructor does.
  Adam(std::vector<Var> params, const AdamConfig& config);
  const AdamConfig& config() const { return cfg_; }

 protected:
  Adam(const char* name, std::vector<Var> params, const AdamConfig& config, bool decoupled);
  void update(const Update& u, std::int64_t begin, std::int64_t end) const override;

 private:
  AdamConfig cfg_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Var> params, const AdamWConfig& config);
};

}  // namespace attnlab::optim
