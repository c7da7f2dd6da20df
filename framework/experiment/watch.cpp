#include "framework/experiment/watch.h"

#include "framework/config/value.h"
#include "framework/store/trial.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace attnlab::experiment {

namespace fs = std::filesystem;

namespace {

double number(const config::Value* v) {
  if (!v || !v->is_scalar()) return std::numeric_limits<double>::quiet_NaN();
  const std::string& t = v->text();
  if (t == ".nan" || t == ".NaN" || t.empty()) return std::numeric_limits<double>::quiet_NaN();
  try {
    return std::stod(t);
  } catch (const std::exception&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

std::string text(const config::Value* v) { return v && v->is_scalar() ? v->text() : ""; }

/// The ids sweep.yaml lists ("# trials: a b c"), in order.
std::vector<std::string> listed_trials(const fs::path& dir) {
  std::vector<std::string> ids;
  std::ifstream in(dir / "sweep.yaml");
  for (std::string line; std::getline(in, line) && line.starts_with("#");)
    if (line.starts_with("# trials:")) {
      std::istringstream list(line.substr(9));
      for (std::string id; list >> id;) ids.push_back(id);
    }
  return ids;
}

}  // namespace

std::string clock_text(double s, const char* unknown) {
  if (!(s >= 0) || s > 1e7) return unknown;
  const auto t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02d}:{:02d}", t / 3600, (t / 60) % 60, t % 60)
                   : fmt::format("{}:{:02d}", t / 60, t % 60);
}

std::string sparkline(const std::vector<double>& values, std::size_t most) {
  static const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  const std::size_t from = values.size() > most ? values.size() - most : 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t i = from; i < values.size(); ++i)
    if (!std::isnan(values[i])) {
      lo = std::min(lo, values[i]);
      hi = std::max(hi, values[i]);
    }
  std::string out;
  for (std::size_t i = from; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      out += ' ';
      continue;
    }
    const double f = hi > lo ? (values[i] - lo) / (hi - lo) : 0.5;
    out += kBlocks[std::clamp(static_cast<int>(f * 7.0 + 0.5), 0, 7)];
  }
  return out;
}

std::vector<WatchRow> read_watch(const fs::path& dir, double stalled_after) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::map<std::string, WatchRow> by_id;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".progress.yaml")) continue;
    try {
      const config::Value v = config::load_spec(entry.path().string());
      WatchRow r;
      r.id = text(v.find("id"));
      if (r.id.empty()) continue;
      r.label = text(v.find("label"));
      r.status = text(v.find("status"));
      r.epoch = static_cast<int>(number(v.find("epoch")));
      r.epochs = static_cast<int>(number(v.find("epochs")));
      r.select = text(v.find("select"));
      r.best = number(v.find("best"));
      if (const config::Value* s = v.find("valid"); s && s->is_sequence())
        for (const auto& x : s->items()) r.valid.push_back(number(&x));
      r.seconds = number(v.find("seconds"));
      r.message = text(v.find("message"));
      const double updated = number(v.find("updated"));
      const double per_epoch = r.epoch > 0 ? r.seconds / r.epoch : 0;
      if (r.status == "running" && !std::isnan(updated) &&
          static_cast<double>(now) - updated > std::max(stalled_after, 3 * per_epoch))
        r.status = "stalled?";
      by_id[r.id] = std::move(r);
    } catch (const std::exception&) {
      // Being replaced, or foreign: the next look reads it.
    }
  }
  std::vector<WatchRow> rows;
  std::set<std::string> seen;
  for (const auto& id : listed_trials(dir)) {
    if (!seen.insert(id).second) continue;
    if (auto it = by_id.find(id); it != by_id.end()) {
      rows.push_back(std::move(it->second));
      by_id.erase(it);
      continue;
    }
    WatchRow r;
    r.id = id;
    r.status = fs::exists(store::trial_path(dir, id), ec) ? "done" : "waiting";
    rows.push_back(std::move(r));
  }
  for (auto& [id, r] : by_id) rows.push_back(std::move(r));
  return rows;
}

std::string render_watch(const std::vector<WatchRow>& rows, std::size_t width) {
  std::map<std::string, int> count;
  for (const auto& r : rows) ++count[r.status];
  std::string out = fmt::format("{} trials: {} done, {} running, {} failed, {} waiting{}\n", rows.size(), count["done"],
                                count["running"], count["failed"], count["waiting"],
                                count["stalled?"] ? fmt::format(", {} stalled?", count["stalled?"]) : "");
  std::string select;
  for (const auto& r : rows)
    if (!r.select.empty()) select = r.select;
  const std::string best_header = select.empty() ? "best" : "best " + select;
  const std::size_t bw = std::max<std::size_t>(10, best_header.size());
  out += fmt::format("{:<12}  {:<8}  {:>7}  {:>{}}  {:<20}  {:>7}  {}\n", "trial", "status", "epoch", best_header, bw,
                     "valid per epoch", "time", "label");
  for (const auto& r : rows) {
    std::string line = fmt::format("{:<12}  {:<8}  {:>7}  {:>{}}  ", r.id, r.status,
                                   r.epochs > 0 ? fmt::format("{}/{}", r.epoch, r.epochs) : "-",
                                   std::isnan(r.best) ? "-" : fmt::format("{:.4f}", r.best), bw);
    const std::string spark = sparkline(r.valid);
    std::size_t cells = 0;  // sparkline characters (3 bytes each in UTF-8, 1 for a blank)
    for (std::size_t i = 0; i < spark.size(); i += (static_cast<unsigned char>(spark[i]) >= 0xE0 ? 3 : 1)) ++cells;
    line += spark + std::string(20 - std::min<std::size_t>(20, cells), ' ');
    line += fmt::format("  {:>7}  {}", clock_text(r.seconds), r.status == "failed" ? r.message : r.label);
    const std::size_t shown = line.size() - (spark.size() - cells);  // display columns
    if (shown > width && width > 3) {
      line.resize(line.size() - (shown - width) - 3);
      line += "...";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace attnlab::experiment
