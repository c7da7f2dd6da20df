// preprocess/outliers (rows): drops rows whose value in a numeric column is an outlier.
//   zscore: |x - mean| > threshold * std (population std over the column's present values);
//           nothing is dropped when std is 0.
//   iqr:    x < Q1 - threshold * IQR or x > Q3 + threshold * IQR, with Q1, Q3 the 25% and 75%
//           quantiles by linear interpolation between order statistics (numpy's default) and
//           IQR = Q3 - Q1 (Tukey's fences).
// Missing values (NaN) are ignored by the statistics and their rows kept (drop_missing drops them).
// Statistics are taken over the whole table: rows exist before any split is made.
// Errors: DataError "preprocess outliers: ..." for an unknown column (listing the columns) or a
// text column.
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace attnlab::plugins {

struct OutliersConfig {
  std::string column;
  std::string method = "zscore";
  std::optional<double> threshold{};
  template <class V>
  void visit(V& v) {
    v.required("column", column).doc("numeric column whose outliers are dropped");
    v("method", method)
        .choices({"zscore", "iqr"})
        .doc("zscore: distance from the mean in standard deviations; iqr: Tukey's fences");
    v("threshold", threshold)
        .min(0)
        .doc("zscore: standard deviations (default 3.0); iqr: multiples of the IQR beyond the quartiles (default 1.5)");
  }
};

class Outliers : public data::Preprocess {
 public:
  Outliers(const OutliersConfig& c, const Context&) : c_(c) {}
  Stage stage() const override { return Stage::kRows; }

  void apply_rows(data::Table& table, data::DataReport& report) override {
    const std::string who = "preprocess outliers";
    const auto& col = table.column(c_.column, who);
    if (!col.numeric) throw data::DataError(fmt::format("{}: column '{}' holds text, not numbers", who, c_.column));
    const double t = c_.threshold.value_or(c_.method == "zscore" ? 3.0 : 1.5);
    std::vector<double> v;
    for (double x : col.num)
      if (!std::isnan(x)) v.push_back(x);
    double lo = -INFINITY, hi = INFINITY;
    if (!v.empty()) {
      if (c_.method == "zscore") {
        double mean = 0, var = 0;
        for (double x : v) mean += x;
        mean /= static_cast<double>(v.size());
        for (double x : v) var += (x - mean) * (x - mean);
        const double sd = std::sqrt(var / static_cast<double>(v.size()));
        if (sd > 0) lo = mean - t * sd, hi = mean + t * sd;
      } else {
        std::sort(v.begin(), v.end());
        auto quantile = [&v](double q) {
          const double h = q * static_cast<double>(v.size() - 1);
          const auto i = static_cast<std::size_t>(std::floor(h));
          return i + 1 < v.size() ? v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]) : v[i];
        };
        const double q1 = quantile(0.25), q3 = quantile(0.75);
        lo = q1 - t * (q3 - q1), hi = q3 + t * (q3 - q1);
      }
    }
    const std::int64_t n = table.rows();
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), 1);
    for (std::size_t r = 0; r < keep.size(); ++r)
      keep[r] = !(col.num[r] < lo || col.num[r] > hi);  // NaN compares false: kept
    table.filter(keep);
    report.lines.push_back(fmt::format("outliers: {} {} {}: {} of {} rows dropped (kept [{}, {}])", c_.column,
                                       c_.method, t, n - table.rows(), n, lo, hi));
  }

 private:
  OutliersConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, outliers, attnlab::plugins::Outliers,
                        attnlab::plugins::OutliersConfig,
                        "drops rows whose value in a numeric column is an outlier (z-score or IQR)");
