// The dataset plugin family. Its interface grows with the data pipeline (issue "Data: datasets,
// preprocessing, splits..."); for now a dataset materialises sequences and labels in memory.
#pragma once

#include "framework/core/rng.h"
#include "framework/core/tensor.h"

#include <string>

namespace attnlab::data {

/// One split of a sequence-classification dataset: ids i64 [N, T], labels i64 [N].
struct SequenceSplit {
  core::Tensor ids;
  core::Tensor labels;
};

class Dataset {
 public:
  static constexpr const char* kFamily = "dataset";
  struct Context {
    core::Rng* rng = nullptr;
  };
  virtual ~Dataset() = default;
  virtual SequenceSplit train() const = 0;
  virtual SequenceSplit valid() const = 0;
  virtual std::int64_t vocab() const = 0;
  virtual std::int64_t seq_len() const = 0;
  virtual std::int64_t num_classes() const = 0;
};

/// A preprocessing step (cleaning, outliers, standardisation, k-core, ...), listed in a spec's
/// `preprocess:` section and applied in order. The family exists so specs validate their steps
/// now; its interface and its first steps arrive with the data pipeline.
class Preprocess {
 public:
  static constexpr const char* kFamily = "preprocess";
  struct Context {
    core::Rng* rng = nullptr;
  };
  virtual ~Preprocess() = default;
};

}  // namespace attnlab::data
