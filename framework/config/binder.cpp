#include "framework/config/binder.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace attnlab::config {
namespace {

std::string describe(const Value& v) {
  if (v.is_scalar()) return fmt::format("{} '{}'", v.quoted() ? "string" : "scalar", v.text());
  return std::string(v.kind_name());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<bool> parse_bool(const Value& v, std::string& why) {
  if (v.is_scalar() && !v.quoted()) {
    const std::string t = v.text();
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
    const std::string l = lower(t);
    if (l == "yes" || l == "no" || l == "on" || l == "off") {
      why = fmt::format("expected bool, got '{}' (write true or false)", t);
      return std::nullopt;
    }
  }
  why = fmt::format("expected bool, got {}", describe(v));
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(const Value& v, std::string& why) {
  if (v.is_scalar() && !v.quoted()) {
    std::string t = v.text();
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    std::int64_t x = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (ec == std::errc() && end == t.data() + t.size() && !t.empty()) return x;
    if (ec == std::errc::result_out_of_range) {
      why = fmt::format("integer '{}' is out of the 64-bit range", v.text());
      return std::nullopt;
    }
    std::string fwhy;
    if (auto d = parse_float(v, fwhy); d && std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 9.0e15) {
      return static_cast<std::int64_t>(*d);  // "1e3" is a whole number
    }
  }
  why = fmt::format("expected int, got {}", describe(v));
  return std::nullopt;
}

std::optional<double> parse_float(const Value& v, std::string& why) {
  if (v.is_scalar() && !v.quoted()) {
    std::string t = v.text();
    const std::string l = lower(t);
    if (l == ".inf" || l == "+.inf" || l == "inf") return std::numeric_limits<double>::infinity();
    if (l == "-.inf" || l == "-inf") return -std::numeric_limits<double>::infinity();
    if (l == ".nan" || l == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (!t.empty() && t[0] == '+') t.erase(0, 1);
    double x = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (ec == std::errc() && end == t.data() + t.size() && !t.empty()) return x;
  }
  why = fmt::format("expected float, got {}", describe(v));
  return std::nullopt;
}

std::string format_float(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
  std::string s(buf, end);
  // Keep floats recognisable as floats when read back, by YAML 1.2 ("3" would be an int) and by
  // YAML 1.1 readers such as PyYAML ("1e-05" would be a string): always a '.' before any exponent.
  if (s.find('.') == std::string::npos) {
    const std::size_t e = s.find('e');
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  return s;
}

std::string format_number(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(d));
  return format_float(d);
}

void bind_value(const Value& v, const std::string& path, Problems& p, bool& out) {
  std::string why;
  if (auto x = parse_bool(v, why))
    out = *x;
  else
    p.add(v.mark(), path, why);
}

void bind_value(const Value& v, const std::string& path, Problems& p, std::string& out) {
  if (v.is_scalar())
    out = v.text();
  else
    p.add(v.mark(), path, fmt::format("expected string, got {}", describe(v)));
}

void bind_value(const Value& v, const std::string& path, Problems& p, double& out) {
  std::string why;
  if (auto x = parse_float(v, why))
    out = *x;
  else
    p.add(v.mark(), path, why);
}

void bind_value(const Value& v, const std::string& path, Problems& p, float& out) {
  double d = out;
  const std::size_t before = p.size();
  bind_value(v, path, p, d);
  if (p.size() != before) return;
  if (std::isfinite(d) && std::abs(d) > std::numeric_limits<float>::max())
    p.add(v.mark(), path, fmt::format("{} does not fit a 32-bit float", v.text()));
  else
    out = static_cast<float>(d);
}

void bind_value(const Value& v, const std::string& path, Problems& p, std::int64_t& out) {
  std::string why;
  if (auto x = parse_int(v, why))
    out = *x;
  else
    p.add(v.mark(), path, why);
}

void bind_value(const Value& v, const std::string& path, Problems& p, int& out) {
  std::int64_t x = out;
  const std::size_t before = p.size();
  bind_value(v, path, p, x);
  if (p.size() != before) return;
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    p.add(v.mark(), path, fmt::format("{} does not fit a 32-bit int", x));
  else
    out = static_cast<int>(x);
}

Value to_value(bool x) { return Value::scalar(x ? "true" : "false"); }
Value to_value(const std::string& x) { return Value::scalar(x, {}, true); }
Value to_value(double x) { return Value::scalar(format_float(x)); }
Value to_value(float x) {
  // The shortest text that reads back as this float, not as the double it widens to.
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, end);
  if (std::isnan(x) || std::isinf(x)) return Value::scalar(format_float(x));
  if (s.find('.') == std::string::npos) {
    const std::size_t e = s.find('e');
    s.insert(e == std::string::npos ? s.size() : e, ".0");
  }
  return Value::scalar(s);
}
Value to_value(std::int64_t x) { return Value::scalar(std::to_string(x)); }
Value to_value(int x) { return Value::scalar(std::to_string(x)); }

void Binder::check_number(const FieldSpec<double>& s, double x, const Value& at, const std::string& path) {
  const bool below = s.lo && x < *s.lo, above = s.hi && x > *s.hi;
  if (!below && !above && !std::isnan(x)) return;
  if (std::isnan(x) && !s.lo && !s.hi) return;
  std::string bound;
  if (s.lo && s.hi)
    bound = fmt::format("not in [{}, {}]", format_number(*s.lo), format_number(*s.hi));
  else if (s.lo)
    bound = fmt::format("must be >= {}", format_number(*s.lo));
  else
    bound = fmt::format("must be <= {}", format_number(*s.hi));
  p_.add(at.mark(), path, fmt::format("{} {}", at.is_scalar() ? at.text() : format_float(x), bound));
}

void Binder::check_choice(const std::vector<std::string>& choices, const std::string& x, const Value& at,
                          const std::string& path) {
  if (choices.empty() || std::find(choices.begin(), choices.end(), x) != choices.end()) return;
  const auto hint = nearest(x, choices);
  p_.add(at.mark(), path,
         fmt::format("'{}' is not one of {}{}", x, fmt::join(choices, ", "),
                     hint ? fmt::format("; did you mean '{}'?", *hint) : ""));
}

void Binder::finish_struct(const std::vector<std::string>& ignore) {
  if (!node_.is_map()) return;
  std::vector<std::string> valid = declared_;
  std::sort(valid.begin(), valid.end());
  for (const auto& e : node_.entries()) {
    if (std::find(declared_.begin(), declared_.end(), e.key) != declared_.end()) continue;
    if (std::find(ignore.begin(), ignore.end(), e.key) != ignore.end()) continue;
    const auto hint = nearest(e.key, valid);
    p_.add(Problem{
        e.key_mark, join_path(path_, e.key),
        fmt::format("unknown key '{}'; {}valid: {}", e.key, hint ? fmt::format("did you mean '{}'? ", *hint) : "",
                    valid.empty() ? "(none)" : fmt::format("{}", fmt::join(valid, ", "))),
        e.key});
  }
}

}  // namespace attnlab::config
