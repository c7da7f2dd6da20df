// Label helpers shared by the heads: missing labels are negative class ids or NaN targets.
#pragma once

#include "framework/core/tensor.h"

#include <cmath>

namespace attnlab::plugins {

/// i64 labels with every negative id replaced by `ignore` (the loss's ignore index).
inline core::Tensor ignore_negative(const core::Tensor& labels, std::int64_t ignore) {
  core::Tensor out = labels.clone();
  std::int64_t* p = out.i64();
  for (std::int64_t i = 0; i < out.numel(); ++i)
    if (p[i] < 0) p[i] = ignore;
  return out;
}

/// For f32 targets: {targets with NaN replaced by 0, weights 1 where present and 0 where NaN}.
inline std::pair<core::Tensor, core::Tensor> mask_missing(const core::Tensor& targets) {
  core::Tensor t = targets.clone(), w = core::Tensor::empty(targets.shape());
  float* tp = t.f32();
  float* wp = w.f32();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    const bool missing = std::isnan(tp[i]);
    wp[i] = missing ? 0.f : 1.f;
    if (missing) tp[i] = 0.f;
  }
  return {t, w};
}

}  // namespace attnlab::plugins
