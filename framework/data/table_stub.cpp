// TEMPORARY: minimal Column/Table members so that the preprocessing tests link before table.cpp
// (written in parallel) lands. Deleted in this branch's last commit.
#include "framework/data/examples.h"

#include <cmath>

namespace attnlab::data {

bool Column::missing(std::int64_t row) const {
  const auto r = static_cast<std::size_t>(row);
  return numeric ? std::isnan(num[r]) : str[r].empty();
}

bool Table::has(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return true;
  return false;
}

const Column& Table::column(const std::string& name, const std::string& who) const {
  for (const auto& c : columns)
    if (c.name == name) return c;
  std::string names;
  for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c.name;
  throw DataError(fmt::format("{}: no column '{}'; columns: {}", who, name, names.empty() ? "(none)" : names));
}

Column& Table::column(const std::string& name, const std::string& who) {
  return const_cast<Column&>(static_cast<const Table&>(*this).column(name, who));
}

void Table::filter(const std::vector<std::uint8_t>& keep) {
  auto compact = [&keep](auto& v) {
    if (v.empty()) return;
    std::size_t out = 0;
    for (std::size_t i = 0; i < keep.size(); ++i)
      if (keep[i]) {
        if (out != i) v[out] = std::move(v[i]);
        ++out;
      }
    v.resize(out);
  };
  for (auto& c : columns) {
    compact(c.num);
    compact(c.str);
  }
  compact(part);
  compact(line);
}

}  // namespace attnlab::data
