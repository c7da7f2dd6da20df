#include "framework/data/examples.h"

#include "framework/core/suggest.h"

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

namespace {
std::string column_names(const Table& t) {
  std::vector<std::string> names;
  for (const auto& c : t.columns) names.push_back(c.name);
  return core::join_names(names);
}
}  // namespace

const Column& Table::column(const std::string& name, const std::string& who) const {
  for (const auto& c : columns)
    if (c.name == name) return c;
  throw DataError(fmt::format("{}: no column '{}' in {}; columns: {}", who, name, source.empty() ? "the table" : source,
                              column_names(*this)));
}

Column& Table::column(const std::string& name, const std::string& who) {
  return const_cast<Column&>(static_cast<const Table&>(*this).column(name, who));
}

void Table::filter(const std::vector<std::uint8_t>& keep) {
  if (static_cast<std::int64_t>(keep.size()) != rows())
    throw DataError(fmt::format("{}: filter: {} keep flags for {} rows", source, keep.size(), rows()));
  auto compact = [&keep](auto& v) {
    if (v.empty()) return;
    std::size_t out = 0;
    for (std::size_t i = 0; i < keep.size(); ++i)
      if (keep[i]) {
        if (out != i) v[out] = std::move(v[i]);  // a self-move would empty a string
        ++out;
      }
    v.resize(out);
  };
  for (auto& c : columns) {
    compact(c.num);
    compact(c.str);
  }
  compact(part);
  compact(line);  // last: rows() is line.size()
}

}  // namespace attnlab::data
