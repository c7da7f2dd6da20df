#include "framework/experiment/sweep.h"

#include "framework/config/binder.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "framework/core/rng.h"

namespace attnlab::experiment {
namespace {

using config::Mark;
using config::Override;
using config::Problems;
using config::Value;

constexpr std::string_view kSeedKey = "train.seed";

/// One key an axis assigns.
struct Slot {
  std::string key;  // without the '+'/'++' prefix
  Override::Op op = Override::Op::set;
  std::vector<std::string> path;
  Mark mark;          // of the key in the sweep section
  std::string where;  // "sweep.grid.model.hidden": the key's own location, for messages
};

/// An axis: points[i][j] is the value of slots[j] at position i.
struct Axis {
  std::vector<Slot> slots;
  std::vector<std::vector<Value>> points;
};

std::string_view op_prefix(Override::Op op) {
  switch (op) {
    case Override::Op::add:
      return "+";
    case Override::Op::set_or_add:
      return "++";
    default:
      return "";
  }
}

/// "a.b[2].c" -> {"a", "b", "[2]", "c"} (config::parse_key's grammar, as overrides); nullopt
/// (and `why`) when malformed.
std::optional<std::vector<std::string>> split_key(std::string_view key, std::string& why) {
  config::KeyPath k = config::parse_key(key);
  if (k.ok()) return std::move(k.path);
  why = fmt::format("malformed key '{}': {} at character {}", key, k.error, k.error_pos + 1);
  return std::nullopt;
}

std::optional<std::int64_t> as_int(const Value& v) {
  std::string why;
  return config::parse_int(v, why);
}

std::optional<double> as_finite(const Value& v) {
  std::string why;
  const auto x = config::parse_float(v, why);
  if (!x || !std::isfinite(*x)) return std::nullopt;
  return x;
}

std::string describe(const Value& v) {
  if (v.is_scalar()) return fmt::format("'{}'", v.text());
  return fmt::format("a {}", v.kind_name());
}

std::string join(const std::vector<std::string_view>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

/// Parses sweep: into axes. Problems go to `problems`; a broken axis is left out.
class Parser {
 public:
  explicit Parser(Problems& problems) : problems_(problems) {}

  std::vector<Axis> parse(const Value& sweep) {
    std::vector<Axis> axes;
    if (sweep.is_null() || (sweep.is_map() && sweep.entries().empty())) return axes;
    if (!sweep.is_map()) {
      problems_.add(sweep.mark(), "sweep", "expected a map with seeds, grid, zip or random, got " + describe(sweep));
      return axes;
    }
    const Value* seeds = nullptr;
    const Value* grid = nullptr;
    const Value* zip = nullptr;
    const Value* random = nullptr;
    for (const auto& e : sweep.entries()) {
      if (e.key == "seeds")
        seeds = &e.value;
      else if (e.key == "grid")
        grid = &e.value;
      else if (e.key == "zip")
        zip = &e.value;
      else if (e.key == "random")
        random = &e.value;
      else
        unknown(e, "sweep", {"seeds", "grid", "zip", "random"});
    }
    if (grid) parse_grid(*grid, axes);
    if (zip) parse_zip(*zip, axes);
    if (random) parse_random(*random, axes);
    if (seeds) parse_seeds(*seeds, sweep.find_entry("seeds")->key_mark, axes);
    return axes;
  }

 private:
  void unknown(const Value::Entry& e, const std::string& where, const std::vector<std::string>& valid) {
    const auto hint = core::nearest(e.key, valid);
    std::vector<std::string_view> names(valid.begin(), valid.end());
    problems_.add(e.key_mark, config::join_path(where, e.key),
                  fmt::format("unknown key{}; expected {}", hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                              join(names)));
  }

  /// A map section; null and {} are "absent".
  bool section(const Value& v, const std::string& where) {
    if (v.is_null()) return false;
    if (!v.is_map()) {
      problems_.add(v.mark(), where, "expected a map of dotted keys, got " + describe(v));
      return false;
    }
    return !v.entries().empty();
  }

  std::optional<Slot> slot(const std::string& raw, const Mark& mark, const std::string& where) {
    Slot s;
    s.mark = mark;
    s.where = config::join_path(where, raw);
    std::string_view key = raw;
    if (key.starts_with("++")) {
      s.op = Override::Op::set_or_add;
      key.remove_prefix(2);
    } else if (key.starts_with('+')) {
      s.op = Override::Op::add;
      key.remove_prefix(1);
    } else if (key.starts_with('~')) {
      problems_.add(mark, s.where, "a sweep cannot remove keys");
      return std::nullopt;
    }
    std::string why;
    auto path = split_key(key, why);
    if (!path) {
      problems_.add(mark, s.where, why);
      return std::nullopt;
    }
    s.key = std::string(key);
    s.path = std::move(*path);
    if (!claim(s)) return std::nullopt;
    return s;
  }

  /// Records that `s` is swept; false (and a problem) when another axis already sweeps it.
  bool claim(const Slot& s) {
    const auto [it, fresh] = claimed_.emplace(s.key, s);
    if (fresh) return true;
    problems_.add(s.mark, s.where,
                  fmt::format("'{}' is already swept by {} at {}; a key may be in one axis only", s.key,
                              it->second.where, it->second.mark.str()));
    return false;
  }

  /// The items of an axis list; nullopt (and a problem) unless a non-empty list.
  std::optional<std::vector<Value>> list(const Value& v, const std::string& where) {
    if (!v.is_sequence()) {
      problems_.add(v.mark(), where, "expected a list of values, got " + describe(v));
      return std::nullopt;
    }
    if (v.items().empty()) {
      problems_.add(v.mark(), where, "empty list: the sweep would have no trials");
      return std::nullopt;
    }
    if (v.items().size() > kMaxTrials) {
      problems_.add(v.mark(), where,
                    fmt::format("{} values; at most {} trials are allowed", v.items().size(), kMaxTrials));
      return std::nullopt;
    }
    return v.items();
  }

  void parse_grid(const Value& grid, std::vector<Axis>& axes) {
    if (!section(grid, "sweep.grid")) return;
    for (const auto& e : grid.entries()) {
      auto s = slot(e.key, e.key_mark, "sweep.grid");
      auto items = list(e.value, config::join_path("sweep.grid", e.key));
      if (!s || !items) continue;
      Axis a;
      a.slots.push_back(std::move(*s));
      for (auto& v : *items) a.points.push_back({std::move(v)});
      axes.push_back(std::move(a));
    }
  }

  void parse_zip(const Value& zip, std::vector<Axis>& axes) {
    if (!section(zip, "sweep.zip")) return;
    Axis a;
    std::vector<std::vector<Value>> columns;
    bool ok = true;
    const Value::Entry* first = nullptr;
    for (const auto& e : zip.entries()) {
      auto s = slot(e.key, e.key_mark, "sweep.zip");
      const std::string where = config::join_path("sweep.zip", e.key);
      auto items = list(e.value, where);
      if (!s || !items) {
        ok = false;
        continue;
      }
      if (!first) {
        first = &e;
      } else if (items->size() != columns.front().size()) {
        problems_.add(e.value.mark(), where,
                      fmt::format("has {} values but {} has {} (at {}); zip lists must have equal lengths",
                                  items->size(), first->key, columns.front().size(), first->value.mark().str()));
        ok = false;
        continue;
      }
      a.slots.push_back(std::move(*s));
      columns.push_back(std::move(*items));
    }
    if (!ok || columns.empty()) return;
    for (std::size_t i = 0; i < columns.front().size(); ++i) {
      std::vector<Value> point;
      for (auto& c : columns) point.push_back(std::move(c[i]));
      a.points.push_back(std::move(point));
    }
    axes.push_back(std::move(a));
  }

  void parse_seeds(const Value& seeds, const Mark& key_mark, std::vector<Axis>& axes) {
    if (seeds.is_null()) return;
    Slot s;
    s.key = std::string(kSeedKey);
    s.op = Override::Op::set_or_add;
    std::string why;
    s.path = *split_key(kSeedKey, why);
    s.mark = key_mark;
    s.where = "sweep.seeds";
    const bool claimed = claim(s);
    auto items = list(seeds, "sweep.seeds");
    if (!items) return;
    bool ok = claimed;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const auto seed = as_int((*items)[i]);
      if (!seed || *seed < 0) {
        problems_.add((*items)[i].mark(), fmt::format("sweep.seeds[{}]", i),
                      "expected an integer >= 0, got " + describe((*items)[i]));
        ok = false;
      }
    }
    if (!ok) return;
    Axis a;
    a.slots.push_back(std::move(s));
    for (auto& v : *items) a.points.push_back({std::move(v)});
    axes.push_back(std::move(a));
  }

  /// A distribution: draws one value per call from the shared generator.
  using Draw = std::function<Value(core::Rng&)>;

  std::optional<Draw> distribution(const Value& v, const std::string& where) {
    static const std::vector<std::string> kNames = {"loguniform", "uniform", "int", "choice"};
    if (!v.is_map() || v.entries().size() != 1) {
      problems_.add(v.mark(), where,
                    fmt::format("expected one distribution such as {{uniform: [0.0, 0.5]}} ({}), got {}",
                                join({"loguniform", "uniform", "int", "choice"}),
                                v.is_map() ? fmt::format("a map with {} keys", v.entries().size()) : describe(v)));
      return std::nullopt;
    }
    const Value::Entry& e = v.entries().front();
    const std::string at = config::join_path(where, e.key);
    const Mark mark = e.value.mark();
    if (e.key == "choice") {
      auto items = list(e.value, at);
      if (!items) return std::nullopt;
      return Draw([items = std::move(*items)](core::Rng& rng) { return items[rng.below(items.size())]; });
    }
    if (std::find(kNames.begin(), kNames.end(), e.key) == kNames.end()) {
      unknown(e, where, kNames);
      return std::nullopt;
    }
    if (!e.value.is_sequence() || e.value.items().size() != 2) {
      problems_.add(mark, at, "expected [low, high], got " + describe(e.value));
      return std::nullopt;
    }
    const Value& lo_v = e.value.items()[0];
    const Value& hi_v = e.value.items()[1];
    if (e.key == "int") {
      const auto lo = as_int(lo_v), hi = as_int(hi_v);
      if (!lo || !hi) {
        problems_.add(mark, at, fmt::format("bounds must be integers, got [{}, {}]", describe(lo_v), describe(hi_v)));
        return std::nullopt;
      }
      if (*lo > *hi) {
        problems_.add(mark, at, fmt::format("low {} is above high {}", *lo, *hi));
        return std::nullopt;
      }
      const std::uint64_t span = static_cast<std::uint64_t>(*hi) - static_cast<std::uint64_t>(*lo) + 1;
      return Draw([lo = *lo, span, mark](core::Rng& rng) {
        const std::uint64_t off = span == 0 ? rng.next_u64() : rng.below(span);  // span 0: the whole int64 range
        return Value::scalar(std::to_string(static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + off)), mark);
      });
    }
    const auto lo = as_finite(lo_v), hi = as_finite(hi_v);
    if (!lo || !hi) {
      problems_.add(mark, at,
                    fmt::format("bounds must be finite numbers, got [{}, {}]", describe(lo_v), describe(hi_v)));
      return std::nullopt;
    }
    if (*lo > *hi) {
      problems_.add(mark, at, fmt::format("low {} is above high {}", lo_v.text(), hi_v.text()));
      return std::nullopt;
    }
    const bool log = e.key == "loguniform";
    if (log && *lo <= 0) {
      problems_.add(mark, at, fmt::format("loguniform needs 0 < low, got low {}", lo_v.text()));
      return std::nullopt;
    }
    const double a = log ? std::log(*lo) : *lo;
    const double b = log ? std::log(*hi) : *hi;
    return Draw([a, b, lo = *lo, hi = *hi, log, mark](core::Rng& rng) {
      const double u = a + (b - a) * rng.uniform_double();
      // exp/log rounding may step just outside the bounds the user wrote.
      return Value::scalar(config::format_float(std::clamp(log ? std::exp(u) : u, lo, hi)), mark);
    });
  }

  void parse_random(const Value& random, std::vector<Axis>& axes) {
    if (random.is_null()) return;
    if (!random.is_map()) {
      problems_.add(random.mark(), "sweep.random", "expected a map with n, seed and params, got " + describe(random));
      return;
    }
    const Value* n_v = nullptr;
    const Value* seed_v = nullptr;
    const Value* params = nullptr;
    for (const auto& e : random.entries()) {
      if (e.key == "n")
        n_v = &e.value;
      else if (e.key == "seed")
        seed_v = &e.value;
      else if (e.key == "params")
        params = &e.value;
      else
        unknown(e, "sweep.random", {"n", "seed", "params"});
    }
    bool ok = true;
    std::int64_t n = 0;
    if (!n_v) {
      problems_.add(random.mark(), "sweep.random.n", "missing: the number of samples to draw");
      ok = false;
    } else if (const auto x = as_int(*n_v); !x || *x < 1 || static_cast<std::uint64_t>(*x) > kMaxTrials) {
      problems_.add(n_v->mark(), "sweep.random.n",
                    fmt::format("expected an integer from 1 to {}, got {}", kMaxTrials, describe(*n_v)));
      ok = false;
    } else {
      n = *x;
    }
    std::uint64_t seed = 0;
    if (seed_v) {
      const auto x = as_int(*seed_v);
      if (!x || *x < 0) {
        problems_.add(seed_v->mark(), "sweep.random.seed", "expected an integer >= 0, got " + describe(*seed_v));
        ok = false;
      } else {
        seed = static_cast<std::uint64_t>(*x);
      }
    }
    Axis a;
    std::vector<Draw> draws;
    if (!params || !params->is_map() || params->entries().empty()) {
      problems_.add(params ? params->mark() : random.mark(), "sweep.random.params",
                    "expected a non-empty map of dotted keys to distributions, got " +
                        (params ? describe(*params) : std::string("nothing")));
      ok = false;
    } else {
      for (const auto& e : params->entries()) {
        auto s = slot(e.key, e.key_mark, "sweep.random.params");
        auto d = distribution(e.value, config::join_path("sweep.random.params", e.key));
        if (!s || !d) {
          ok = false;
          continue;
        }
        a.slots.push_back(std::move(*s));
        draws.push_back(std::move(*d));
      }
    }
    if (!ok) return;
    core::Rng rng(seed);
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<Value> point;
      for (const auto& d : draws) point.push_back(d(rng));
      a.points.push_back(std::move(point));
    }
    axes.push_back(std::move(a));
  }

  Problems& problems_;
  std::map<std::string, Slot> claimed_;
};

/// Applies one assignment; problems are reported at the sweep key that caused them.
bool assign(Value& spec, const Slot& s, const Value& value, Problems& problems, std::set<std::string>& seen,
            const std::string& suffix, const config::KeySchema* schema) {
  Override ov;
  ov.op = s.op;
  ov.path = s.path;
  ov.value = value;
  ov.text = fmt::format("{}{}={}", op_prefix(s.op), s.key, config::canonical(value));
  try {
    config::apply_overrides(spec, {ov}, schema);
    return true;
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) {
      const std::string msg = p.path.empty() || p.path == s.key ? p.message : p.path + ": " + p.message;
      if (seen.insert(s.where + "\n" + msg).second) problems.add(s.mark, s.where, msg + suffix);
    }
    return false;
  }
}

}  // namespace

namespace {

/// Leaves of a map as dotted keys -> canonical text ("channels" -> "16", "kernel_sizes" -> "[3]").
void leaves(const Value& v, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (v.is_map()) {
    for (const auto& e : v.entries()) leaves(e.value, config::join_path(prefix, e.key), out);
    return;
  }
  out[prefix] = config::canonical(v);
}

}  // namespace

std::vector<std::string> short_labels(const std::vector<Trial>& trials, std::size_t width) {
  std::vector<std::string> out(trials.size());
  if (trials.empty()) return out;
  const std::size_t keys = trials[0].assignments.size();
  // Per key: each trial's leaves, and per plugin type the leaves whose value is not the same in
  // every trial of that type (a parameter of one variant only does not distinguish it: its type does).
  std::vector<std::vector<std::map<std::string, std::string>>> flat(keys);
  std::vector<std::map<std::string, std::set<std::string>>> differing(keys);  // type -> leaves
  for (std::size_t k = 0; k < keys; ++k) {
    flat[k].resize(trials.size());
    for (std::size_t t = 0; t < trials.size(); ++t)
      if (k < trials[t].assignments.size()) leaves(trials[t].assignments[k].second, "", flat[k][t]);
    std::map<std::string, std::map<std::string, std::set<std::string>>> values;  // type -> leaf -> texts
    std::map<std::string, std::size_t> of_type;
    for (const auto& f : flat[k]) {
      const auto type = f.count("type") ? f.at("type") : std::string();
      ++of_type[type];
      for (const auto& [leaf, text] : f) values[type][leaf].insert(text);
    }
    for (const auto& [type, by_leaf] : values)
      for (const auto& [leaf, seen] : by_leaf) {
        std::size_t present = 0;
        for (const auto& f : flat[k])
          if ((f.count("type") ? f.at("type") : std::string()) == type) present += f.count(leaf);
        if (seen.size() > 1 || present != of_type[type]) differing[k][type].insert(leaf);
      }
  }
  for (std::size_t t = 0; t < trials.size(); ++t) {
    std::string label;
    for (std::size_t k = 0; k < keys && k < trials[t].assignments.size(); ++k) {
      const auto& [key, value] = trials[t].assignments[k];
      std::string text;
      if (!value.is_map()) {
        text = config::canonical(value);
      } else {
        const auto& f = flat[k][t];
        const auto type = f.find("type");
        const auto& distinct = differing[k][type != f.end() ? type->second : std::string()];
        std::string params;
        for (const auto& [leaf, v] : f)
          if (leaf != "type" && distinct.count(leaf))
            params += fmt::format("{}{}={}", params.empty() ? "" : ", ", leaf, v);
        text = type != f.end() ? type->second + (params.empty() ? "" : "(" + params + ")")
                               : "{" + (params.empty() ? std::string("...") : params) + "}";
      }
      label += fmt::format("{}{}={}", label.empty() ? "" : " ", key, text);
    }
    if (label.size() > width && width > 3) label = label.substr(0, width - 3) + "...";
    out[t] = std::move(label);
  }
  return out;
}

std::string Trial::label() const {
  std::string s;
  for (const auto& [key, value] : assignments)
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", key, config::canonical(value));
  return s;
}

std::vector<Trial> expand_sweep(const config::Value& spec, const Resolver& resolve, const config::KeySchema* schema) {
  Problems problems;
  if (!spec.is_map()) {
    problems.add(spec.mark(), "", "a spec must be a map, got a " + std::string(spec.kind_name()));
    problems.check();
  }
  Value base = spec;
  base.erase("sweep");
  const Value* sweep = spec.find("sweep");
  std::vector<Axis> axes = sweep ? Parser(problems).parse(*sweep) : std::vector<Axis>{};

  // Check every key once against the first value of each axis, applied in order, before the
  // structural problems are thrown: the user sees misspelt keys in the same report.
  std::set<std::string> seen;
  // A plugin's type is applied before its parameters (shallowest first), whatever the axis order.
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (axis, slot)
  for (std::size_t k = 0; k < axes.size(); ++k)
    for (std::size_t j = 0; j < axes[k].slots.size(); ++j) order.emplace_back(k, j);
  const auto type_rank = [&](const std::pair<std::size_t, std::size_t>& o) {
    const auto& path = axes[o.first].slots[o.second].path;
    return path.back() == "type" ? path.size() : std::numeric_limits<std::size_t>::max();
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const auto& a, const auto& b) { return type_rank(a) < type_rank(b); });
  {
    Value probe = base;
    for (const auto& [k, j] : order) assign(probe, axes[k].slots[j], axes[k].points[0][j], problems, seen, "", schema);
  }
  std::size_t total = 1;
  for (const auto& a : axes) {
    if (total > kMaxTrials / a.points.size()) {
      problems.add(sweep->mark(), "sweep", fmt::format("expands to more than {} trials", kMaxTrials));
      break;
    }
    total *= a.points.size();
  }
  problems.check();

  std::vector<Trial> trials(total);
  std::map<std::string, std::size_t> by_id;
  for (std::size_t t = 0; t < total; ++t) {
    Trial& trial = trials[t];
    trial.index = t;
    std::vector<std::size_t> pos(axes.size());
    for (std::size_t k = axes.size(), rest = t; k-- > 0;) {
      pos[k] = rest % axes[k].points.size();
      rest /= axes[k].points.size();
    }
    for (std::size_t k = 0; k < axes.size(); ++k)
      for (std::size_t j = 0; j < axes[k].slots.size(); ++j)
        trial.assignments.emplace_back(axes[k].slots[j].key, axes[k].points[pos[k]][j]);
    const std::string suffix = fmt::format(" (in trial {}: {})", t, trial.label());

    trial.spec = base;
    bool ok = true;
    for (const auto& [k, j] : order)
      ok = assign(trial.spec, axes[k].slots[j], axes[k].points[pos[k]][j], problems, seen, suffix, schema) && ok;
    if (!ok) continue;

    if (resolve) {
      try {
        trial.id = config::hash(resolve(trial.spec)).substr(0, 12);
      } catch (const config::ConfigError& e) {
        for (const auto& p : e.problems())
          if (seen.insert(p.str()).second) problems.add(p.mark, p.path, p.message + suffix);
        continue;
      }
    } else {
      trial.id = config::hash(trial.spec).substr(0, 12);
    }
    const auto [it, fresh] = by_id.emplace(trial.id, t);
    if (!fresh)
      problems.add(sweep->mark(), "sweep",
                   fmt::format("trials {} ({}) and {} ({}) have the same config (id {}); remove the duplicate values",
                               it->second, trials[it->second].label(), t, trial.label(), trial.id));
  }
  problems.check();
  return trials;
}

}  // namespace attnlab::experiment
