// The metric plugin family. A metric reduces predictions and labels of one split to one number.
// The family exists so that plugins can register now; the evaluation pipeline (ranking metrics with
// streaming top-K, per-user gAUC, ...) and the spec's metric list arrive with the data issue.
#pragma once

#include "framework/core/tensor.h"

namespace attnlab::eval {

class Metric {
 public:
  static constexpr const char* kFamily = "metric";
  struct Context {};
  virtual ~Metric() = default;
  /// scores [N, C] (or [N]) against labels [N]; larger is better unless lower_is_better().
  virtual double compute(const core::Tensor& scores, const core::Tensor& labels) const = 0;
  virtual bool lower_is_better() const { return false; }
};

}  // namespace attnlab::eval
