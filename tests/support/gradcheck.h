// End-to-end gradient checks of composite models and plugins, in f32 (STYLE.md section 9).
//
// The loss is L = sum(r * y) with a fixed random r of y's shape. The analytic gradient of every
// checked tensor (inputs *and* parameters) comes from one backward; the numeric one from central
// differences, perturbing one sampled coordinate at a time in place and re-running the forward
// under NoGrad. A coordinate passes when |a - n| <= tol * max(|a|, |n|, 1) (Caffe's floor).
#pragma once

#include "framework/autograd/var.h"

#include <functional>
#include <string>
#include <vector>

namespace attnlab::testing {

struct GradcheckOptions {
  double eps = 3e-3;
  double tol = 2e-2;
  int max_coords = 32;  // sampled per tensor, with a fixed seed
  std::uint64_t seed = 99;
};

struct GradcheckResult {
  int checked = 0;
  int failed = 0;
  std::string worst;  // the worst coordinate: tensor name, flat index, analytic and numeric values
  double worst_excess = 0.0;
  bool ok() const { return failed == 0 && checked > 0; }
};

struct Checked {
  std::string name;
  autograd::Var var;  // a leaf with requires_grad; its value buffer is perturbed in place
};

/// `forward` must be deterministic (dropout off or re-seeded inside) and build its graph from the
/// current values of the checked leaves.
GradcheckResult gradcheck(const std::function<autograd::Var()>& forward, const std::vector<Checked>& tensors,
                          const GradcheckOptions& opt = {});

}  // namespace attnlab::testing
