// preprocess/standardize (examples): rescales dense side features (Examples::dense), with
// statistics fitted on the TRAINING split only and applied to every example (fitting on all rows
// would leak validation/test information into training).
//   zscore  x' = (x - mean) / std   (population std); a constant feature (std 0) becomes x - mean
//   minmax  x' = (x - min) / (max - min);             a constant feature becomes x - min
// NaN values are skipped by the fit and stay NaN. fitted() holds, in the order of the standardized
// features, "feature_index" (column in Examples::dense) and "mean"/"std" or "min"/"max".
// Errors: DataError "preprocess standardize: ..." when the examples have no dense features, for an
// unknown or repeated feature (listing the dense features), an empty training split, a training index out of
// range, or a feature without any value in the training split.
#include "framework/core/suggest.h"
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <cmath>

namespace attnlab::plugins {

struct StandardizeConfig {
  std::string method = "zscore";
  std::vector<std::string> features{};
  template <class V>
  void visit(V& v) {
    v("method", method).choices({"zscore", "minmax"}).doc("zscore: zero mean, unit variance; minmax: onto [0, 1]");
    v("features", features).doc("dense features to rescale ([] = every dense feature)");
  }
};

class Standardize : public data::Preprocess {
 public:
  Standardize(const StandardizeConfig& c, const Context&) : c_(c) {}
  Stage stage() const override { return Stage::kExamples; }

  void apply_examples(data::Examples& ex, const data::Splits& splits, data::DataReport& report) override {
    const std::string who = "preprocess standardize";
    const std::int64_t d = ex.num_dense(), n = ex.size();
    if (d == 0) throw data::DataError(fmt::format("{}: the examples have no dense features", who));
    std::vector<std::size_t> cols;
    if (c_.features.empty())
      for (std::int64_t j = 0; j < d; ++j) cols.push_back(static_cast<std::size_t>(j));
    for (const auto& f : c_.features) {
      const auto it = std::find(ex.dense_names.begin(), ex.dense_names.end(), f);
      if (it == ex.dense_names.end())
        throw data::DataError(
            fmt::format("{}: no dense feature '{}'; dense features: {}", who, f, core::join_names(ex.dense_names)));
      const auto j = static_cast<std::size_t>(it - ex.dense_names.begin());
      if (std::find(cols.begin(), cols.end(), j) != cols.end())
        throw data::DataError(fmt::format("{}: feature '{}' is listed twice", who, f));
      cols.push_back(j);
    }
    if (splits.train.empty())
      throw data::DataError(fmt::format("{}: the training split is empty; nothing to fit on", who));
    for (auto i : splits.train)
      if (i < 0 || i >= n)
        throw data::DataError(fmt::format("{}: training index {} is outside the {} examples", who, i, n));

    const bool zscore = c_.method == "zscore";
    std::vector<double> index, a, b;  // a, b: mean and std, or min and max
    for (auto j : cols) {
      std::int64_t count = 0;
      double sum = 0, lo = INFINITY, hi = -INFINITY;
      auto value = [&](std::int64_t i) { return static_cast<double>(ex.dense[static_cast<std::size_t>(i * d) + j]); };
      for (auto i : splits.train)
        if (const double x = value(i); !std::isnan(x)) ++count, sum += x, lo = std::min(lo, x), hi = std::max(hi, x);
      if (count == 0)
        throw data::DataError(
            fmt::format("{}: dense feature '{}' has no value in the training split", who, ex.dense_names[j]));
      const double mean = sum / static_cast<double>(count);
      double var = 0;
      for (auto i : splits.train)
        if (const double x = value(i); !std::isnan(x)) var += (x - mean) * (x - mean);
      index.push_back(static_cast<double>(j));
      a.push_back(zscore ? mean : lo);
      b.push_back(zscore ? std::sqrt(var / static_cast<double>(count)) : hi);
    }
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const double shift = a[k], scale = zscore ? b[k] : b[k] - a[k];
      for (std::int64_t i = 0; i < n; ++i) {
        float& x = ex.dense[static_cast<std::size_t>(i * d) + cols[k]];
        x = static_cast<float>(scale > 0 ? (x - shift) / scale : x - shift);
      }
    }
    fitted_ = zscore ? data::Fitted{{"feature_index", index}, {"mean", a}, {"std", b}}
                     : data::Fitted{{"feature_index", index}, {"min", a}, {"max", b}};
    report.lines.push_back(fmt::format("standardize: {} on {} dense feature(s), fitted on {} training examples",
                                       c_.method, cols.size(), splits.train.size()));
  }
  data::Fitted fitted() const override { return fitted_; }

 private:
  StandardizeConfig c_;
  data::Fitted fitted_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, standardize, attnlab::plugins::Standardize,
                        attnlab::plugins::StandardizeConfig,
                        "rescales dense features by z-score or min-max, fitted on the training split only");
