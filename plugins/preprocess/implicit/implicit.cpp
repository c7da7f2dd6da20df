// preprocess/implicit (rows): explicit ratings to implicit feedback. A row is positive when its
// rating is >= threshold.
//   keep: above  drops the other rows (and rows without a rating): the positives are the interactions;
//   keep: all    keeps every row (then `label` must be set).
// With `label`, adds a numeric column of that name: 1 for positives, 0 for the others, NaN where
// the rating is missing (a missing label) — a binary label for the datasets (e.g. a click task).
// Errors: DataError "preprocess implicit: ..." for an unknown column (listing the columns), a text
// column, a label column that already exists, or keep: all without a label (nothing to do).
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <cmath>
#include <optional>

namespace attnlab::plugins {

struct ImplicitConfig {
  std::string column = "rating";
  double threshold = 0.0;
  std::string keep = "above";
  std::optional<std::string> label{};
  template <class V>
  void visit(V& v) {
    v("column", column).doc("numeric rating column");
    v.required("threshold", threshold).doc("a rating >= threshold is a positive interaction");
    v("keep", keep)
        .choices({"above", "all"})
        .doc("above: keep only the positive rows; all: keep every row (needs label)");
    v("label", label).doc("name of a new 0/1 column marking the positive rows (absent: no column)");
  }
};

class Implicit : public data::Preprocess {
 public:
  Implicit(const ImplicitConfig& c, const Context&) : c_(c) {
    if (c_.keep == "all" && !c_.label)
      throw data::DataError(
          "preprocess implicit: keep: all without a label changes nothing; set label (a new 0/1 column) or keep: "
          "above");
  }
  Stage stage() const override { return Stage::kRows; }

  void apply_rows(data::Table& table, data::DataReport& report) override {
    const std::string who = "preprocess implicit";
    const auto& col = table.column(c_.column, who);
    if (!col.numeric) throw data::DataError(fmt::format("{}: column '{}' holds text, not numbers", who, c_.column));
    if (c_.label && table.has(*c_.label))
      throw data::DataError(fmt::format("{}: the label column '{}' already exists in the table", who, *c_.label));
    const std::size_t n = static_cast<std::size_t>(table.rows());
    std::vector<double> positive(n);
    std::int64_t positives = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const double x = col.num[r];
      positive[r] = std::isnan(x) ? NAN : x >= c_.threshold ? 1.0 : 0.0;
      positives += positive[r] == 1.0;
    }
    if (c_.label) {
      data::Column label;
      label.name = *c_.label;
      label.numeric = true;
      label.num = positive;
      table.columns.push_back(std::move(label));
    }
    std::string line = fmt::format("implicit: {} >= {}: {} of {} rows positive", c_.column, c_.threshold, positives, n);
    if (c_.keep == "above") {
      std::vector<std::uint8_t> keep(n);
      for (std::size_t r = 0; r < n; ++r) keep[r] = positive[r] == 1.0;
      table.filter(keep);
      line += fmt::format(", {} dropped", n - static_cast<std::size_t>(table.rows()));
    }
    if (c_.label) line += fmt::format("; label column '{}' added", *c_.label);
    report.lines.push_back(std::move(line));
  }

 private:
  ImplicitConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, implicit, attnlab::plugins::Implicit,
                        attnlab::plugins::ImplicitConfig,
                        "ratings to implicit feedback: keep rows rated >= threshold, or mark them in a 0/1 column");
