// Reads golden files written by scripts/goldens/golden_io.py (PyTorch reference values).
#pragma once

#include "framework/core/tensor.h"

#include <map>
#include <string>

namespace attnlab::testing {

class Golden {
 public:
  /// Loads tests/data/goldens/<name>.txt; throws attnlab::Error naming the file on any problem.
  static Golden load(const std::string& name);

  /// The tensor `key` as f32; throws attnlab::Error listing the keys when it is absent.
  core::Tensor tensor(const std::string& key) const;
  /// The tensor `key` converted to i64 (for indices and labels stored in the golden).
  core::Tensor index(const std::string& key) const;
  bool has(const std::string& key) const { return t_.count(key) > 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, std::pair<core::Shape, std::vector<double>>> t_;
};

/// Largest |a - b| / max(|b|, floor) over all elements, and whether shapes match (else +inf).
double max_rel_error(const core::Tensor& a, const core::Tensor& b, double floor = 1e-3);

}  // namespace attnlab::testing
