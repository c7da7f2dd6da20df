#include "framework/store/index.h"

#include "framework/store/durable.h"
#include "framework/store/trial.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

namespace attnlab::store {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool parse_number(const std::string& s, double& out) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, out);
  return !s.empty() && r.ec == std::errc() && r.ptr == end;
}

}  // namespace

IndexRow index_row(const std::filesystem::path& trial_file, std::vector<std::pair<std::string, std::string>> params) {
  const TrialReader r(trial_file);
  IndexRow row;
  row.id = r.id();
  row.status = r.state();
  row.params = std::move(params);
  for (const auto& [split, metrics] : r.finals())
    for (const auto& [metric, v] : metrics) row.finals[split + "/" + metric] = v;
  row.file = trial_file.filename().string();
  return row;
}

void write_index(const std::filesystem::path& sweep_dir, const std::vector<IndexRow>& rows,
                 const std::function<bool(std::string_view)>& lower_is_better) {
  const std::filesystem::path path = sweep_dir / "index.h5";
  const std::string name = path.string();
  std::set<std::string> ids;
  for (const auto& r : rows) {
    if (r.id.empty() || r.id.find('/') != std::string::npos || r.id == "." || r.id == "..")
      throw StoreError(name, "/trials", fmt::format("invalid trial id '{}'", r.id));
    if (!ids.insert(r.id).second) throw StoreError(name, "/trials/" + r.id, "trial listed twice");
    std::error_code ec;
    if (!r.file.empty() && !std::filesystem::exists(sweep_dir / r.file, ec))
      throw StoreError(name, "/trials/" + r.id,
                       fmt::format("trial file {} does not exist", (sweep_dir / r.file).string()));
  }

  // Columns: id, status, swept keys (first appearance), finals (sorted).
  std::vector<std::string> keys;
  std::set<std::string> finals;
  for (const auto& r : rows) {
    for (const auto& [k, v] : r.params)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (const auto& [k, v] : r.finals) finals.insert(k);
  }
  std::vector<h5::TableColumn> columns;
  std::vector<std::string> roles;
  h5::TableColumn id{"id", false, {}, {}}, status{"status", false, {}, {}};
  for (const auto& r : rows) {
    id.text.push_back(r.id);
    status.text.emplace_back(name_of(r.status));
  }
  columns.push_back(std::move(id));
  columns.push_back(std::move(status));
  roles = {"id", "status"};
  for (const auto& k : keys) {
    h5::TableColumn c{k, true, {}, {}};
    for (const auto& r : rows) {
      auto it = std::find_if(r.params.begin(), r.params.end(), [&](const auto& p) { return p.first == k; });
      c.text.push_back(it == r.params.end() ? "" : it->second);
      double v = 0;
      if (it != r.params.end() && !parse_number(it->second, v)) c.numeric = false;
    }
    if (c.numeric) {
      for (const auto& t : c.text) {
        double v = kNaN;
        if (!t.empty()) parse_number(t, v);
        c.number.push_back(v);
      }
      c.text.clear();
    }
    columns.push_back(std::move(c));
    roles.emplace_back("param");
  }
  for (const auto& k : finals) {
    h5::TableColumn c{k, true, {}, {}};
    for (const auto& r : rows) {
      auto it = r.finals.find(k);
      c.number.push_back(it == r.finals.end() ? kNaN : it->second);
    }
    columns.push_back(std::move(c));
    roles.emplace_back("final");
  }
  std::vector<std::string> names;
  for (const auto& c : columns) {
    if (std::find(names.begin(), names.end(), c.name) != names.end())
      throw StoreError(name, "/summary",
                       fmt::format("column '{}' appears twice (a swept key clashes with a "
                                   "reserved column or a metric)",
                                   c.name));
    names.push_back(c.name);
  }

  write_durably(path, [&](const std::filesystem::path& temp) {
    h5::File f = h5::File::create(temp);
    f.set_attr("format", kIndexFormat);
    f.set_attr("format_version", kIndexFormatVersion);
    f.set_attr("summary_columns", std::span<const std::string>(names));
    f.set_attr("summary_roles", std::span<const std::string>(roles));
    std::vector<std::string> better;
    for (std::size_t i = 0; i < names.size(); ++i)
      better.emplace_back(roles[i] != "final" || !lower_is_better ? ""
                          : lower_is_better(names[i])             ? "lower"
                                                                  : "higher");
    f.set_attr("summary_better", std::span<const std::string>(better));
    {
      h5::Group trials = f.group("trials");
      for (const auto& r : rows)
        if (!r.file.empty()) trials.link_external(r.id, r.file, "/");
    }
    f.write_table("summary", columns);
    f.close();
  });
}

std::vector<SummaryColumn> read_summary(const std::filesystem::path& index_file) {
  const h5::File f = h5::File::open(index_file);
  if (!f.has_attr("format") || f.attr_string("format") != kIndexFormat)
    throw StoreError(index_file.string(), "",
                     fmt::format("not an attnlab index file (no root attribute format = \"{}\")", kIndexFormat));
  const std::vector<std::string> names = f.attr_strings("summary_columns");
  const std::vector<std::string> roles = f.attr_strings("summary_roles");
  std::vector<h5::TableColumn> table = f.open_dataset("summary").read_table();
  if (names.size() != table.size() || roles.size() != table.size())
    throw StoreError(index_file.string(), "/summary",
                     fmt::format("{} columns but {} names and {} roles", table.size(), names.size(), roles.size()));
  std::vector<SummaryColumn> out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (table[i].name != names[i])
      throw StoreError(index_file.string(), "/summary",
                       fmt::format("column {} is '{}' but summary_columns says '{}'", i, table[i].name, names[i]));
    out.push_back({std::move(table[i]), roles[i]});
  }
  return out;
}

}  // namespace attnlab::store
