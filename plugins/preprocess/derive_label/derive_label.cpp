// preprocess/derive_label (rows): adds a numeric 0/1 column `name` computed from `column`, which a
// dataset can then use as a (binary) label:
//   equals     1 where the value equals values[0] (exactly one value)
//   in         1 where the value is one of values
//   threshold  1 where the (numeric) value is >= threshold
// Text columns compare as text ("values: ['>50K', '>50K.']"); numeric columns compare numerically
// ("values: ['4', '5']"). A missing source value gives NaN (a missing label).
// Errors: DataError "preprocess derive_label: ..." for a rule without its values/threshold (at
// construction), an unknown column (listing the columns), an existing `name`, threshold on a text
// column, or a non-numeric value for a numeric column.
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace attnlab::plugins {

struct DeriveLabelConfig {
  std::string column;
  std::string name;
  std::string rule = "equals";
  std::vector<std::string> values{};
  std::optional<double> threshold{};
  template <class V>
  void visit(V& v) {
    v.required("column", column).doc("source column");
    v.required("name", name).doc("name of the new 0/1 column");
    v("rule", rule)
        .choices({"equals", "in", "threshold"})
        .doc("equals: value == values[0]; in: value among values; threshold: value >= threshold");
    v("values", values).doc("equals / in: the values that give 1 (as text; parsed as numbers for a numeric column)");
    v("threshold", threshold).doc("threshold: the smallest value that gives 1");
  }
};

class DeriveLabel : public data::Preprocess {
 public:
  DeriveLabel(const DeriveLabelConfig& c, const Context&) : c_(c) {
    const std::string who = "preprocess derive_label";
    if (c_.rule == "equals" && c_.values.size() != 1)
      throw data::DataError(
          fmt::format("{}: rule equals needs exactly one entry in values, got {}", who, c_.values.size()));
    if (c_.rule == "in" && c_.values.empty())
      throw data::DataError(fmt::format("{}: rule in needs at least one entry in values", who));
    if (c_.rule == "threshold" && !c_.threshold)
      throw data::DataError(fmt::format("{}: rule threshold needs threshold", who));
  }
  Stage stage() const override { return Stage::kRows; }

  void apply_rows(data::Table& table, data::DataReport& report) override {
    const std::string who = "preprocess derive_label";
    const auto& col = table.column(c_.column, who);
    if (table.has(c_.name))
      throw data::DataError(fmt::format("{}: column '{}' already exists in the table", who, c_.name));
    if (c_.rule == "threshold" && !col.numeric)
      throw data::DataError(fmt::format("{}: rule threshold needs a numeric column; '{}' holds text", who, c_.column));
    std::vector<double> numbers;
    if (col.numeric)
      for (const auto& s : c_.values) {
        double x = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
        if (ec != std::errc() || end != s.data() + s.size())
          throw data::DataError(
              fmt::format("{}: value '{}' is not a number, but column '{}' is numeric", who, s, c_.column));
        numbers.push_back(x);
      }
    const std::size_t n = static_cast<std::size_t>(table.rows());
    data::Column out;
    out.name = c_.name;
    out.numeric = true;
    out.num.resize(n);
    std::int64_t ones = 0, missing = 0;
    for (std::size_t r = 0; r < n; ++r) {
      if (col.missing(static_cast<std::int64_t>(r))) {
        out.num[r] = NAN;
        ++missing;
        continue;
      }
      bool one = false;
      if (c_.rule == "threshold")
        one = col.num[r] >= *c_.threshold;
      else if (col.numeric)
        one = std::find(numbers.begin(), numbers.end(), col.num[r]) != numbers.end();
      else
        one = std::find(c_.values.begin(), c_.values.end(), col.str[r]) != c_.values.end();
      out.num[r] = one ? 1.0 : 0.0;
      ones += one;
    }
    const std::string rule = c_.rule == "threshold" ? fmt::format(">= {}", *c_.threshold)
                                                    : fmt::format("{} [{}]", c_.rule, fmt::join(c_.values, ", "));
    table.columns.push_back(std::move(out));
    report.lines.push_back(fmt::format("derive_label: '{}' = {} {}: {} of {} rows 1, {} missing", c_.name, c_.column,
                                       rule, ones, n, missing));
  }

 private:
  DeriveLabelConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, derive_label, attnlab::plugins::DeriveLabel,
                        attnlab::plugins::DeriveLabelConfig,
                        "adds a 0/1 column from a rule on another column (equals, in, threshold), usable as a label");
