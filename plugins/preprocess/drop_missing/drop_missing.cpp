// preprocess/drop_missing (rows): drops every row with a missing or invalid value in the listed
// columns (all columns when the list is empty). Missing: an empty text field or a NaN number;
// invalid: an infinite number. Reports the rows dropped, per column (a row missing two fields
// counts for both columns, once in the total).
// Errors: DataError "preprocess drop_missing: no column 'x'; columns: ..." for an unknown column.
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

#include <cmath>

namespace attnlab::plugins {

struct DropMissingConfig {
  std::vector<std::string> columns{};
  template <class V>
  void visit(V& v) {
    v("columns", columns).doc("columns that must hold a value ([] = every column)");
  }
};

class DropMissing : public data::Preprocess {
 public:
  DropMissing(const DropMissingConfig& c, const Context&) : c_(c) {}
  Stage stage() const override { return Stage::kRows; }

  void apply_rows(data::Table& table, data::DataReport& report) override {
    static const std::string kWho = "preprocess drop_missing";
    std::vector<const data::Column*> cols;
    if (c_.columns.empty())
      for (const auto& col : table.columns) cols.push_back(&col);
    else
      for (const auto& name : c_.columns) cols.push_back(&table.column(name, kWho));
    const std::int64_t n = table.rows();
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), 1);
    std::vector<std::int64_t> per_column(cols.size(), 0);
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const auto& col = *cols[k];
      for (std::int64_t r = 0; r < n; ++r)
        if (col.missing(r) || (col.numeric && std::isinf(col.num[static_cast<std::size_t>(r)]))) {
          keep[static_cast<std::size_t>(r)] = 0;
          ++per_column[k];
        }
    }
    std::string detail;
    for (std::size_t k = 0; k < cols.size(); ++k)
      if (per_column[k] > 0) detail += fmt::format("{}{} {}", detail.empty() ? "" : ", ", cols[k]->name, per_column[k]);
    table.filter(keep);
    report.lines.push_back(fmt::format("drop_missing: {} of {} rows dropped{}", n - table.rows(), n,
                                       detail.empty() ? std::string() : " (" + detail + ")"));
  }

 private:
  DropMissingConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, drop_missing, attnlab::plugins::DropMissing,
                        attnlab::plugins::DropMissingConfig,
                        "drops rows with a missing or invalid value in the listed columns");
