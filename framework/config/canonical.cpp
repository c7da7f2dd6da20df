// YAML out, the canonical form and its hash (they share the scalar classification).
#include "framework/config/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>

namespace attnlab::config {

// ---- scalar classification (shared by to_yaml and canonical) --------------------------------------

namespace {

bool is_null_text(std::string_view t) { return t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL"; }

bool is_core_bool(std::string_view t, bool& value) {
  if (t == "true" || t == "True" || t == "TRUE") return value = true, true;
  if (t == "false" || t == "False" || t == "FALSE") return value = false, true;
  return false;
}

// YAML 1.1 booleans too: a reader such as PyYAML turns plain `yes` into True (but not `y`/`n`,
// which would quote every key named y or n).
bool is_bool_like(std::string_view t) {
  std::string l(t);
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "true" || l == "false" || l == "yes" || l == "no" || l == "on" || l == "off";
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Anything some YAML reader could take for a number (1.1 and 1.2: 1_000, 0x1f, 1:30, .5, .inf).
// Over-approximates: '1st' is quoted too, which is harmless.
bool looks_numeric(std::string_view t) {
  std::size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (i >= t.size()) return false;
  if (!is_digit(t[i]) && t[i] != '.') return false;
  for (; i < t.size(); ++i) {
    const char c = t[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != ':' && c != '+' && c != '-')
      return false;
  }
  return true;
}

bool has_control(std::string_view t) {
  return std::any_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Could `t` be written plain (in block context, or in flow context if `flow`) and read back as the
// same text? Conservative: any doubt means quoting.
bool plain_safe(std::string_view t, bool flow) {
  if (t.empty() || has_control(t)) return false;
  if (t.front() == ' ' || t.back() == ' ') return false;
  if (std::string_view("!&*|>'\"%@`#,[]{}").find(t.front()) != std::string_view::npos) return false;
  if ((t.front() == '-' || t.front() == '?' || t.front() == ':') && (t.size() == 1 || t[1] == ' ')) return false;
  if (t.starts_with("---") || t.starts_with("...")) return false;
  if (t.find(": ") != std::string_view::npos || t.find(" #") != std::string_view::npos || t.back() == ':') return false;
  if (flow && t.find_first_of(",[]{}:") != std::string_view::npos) return false;
  return true;
}

std::string quote(std::string_view t) {
  if (!has_control(t)) {
    std::string s = "'";
    for (char c : t) {
      if (c == '\'') s += '\'';
      s += c;
    }
    return s + "'";
  }
  std::string s = "\"";
  for (char c : t) {
    switch (c) {
      case '"':
        s += "\\\"";
        break;
      case '\\':
        s += "\\\\";
        break;
      case '\n':
        s += "\\n";
        break;
      case '\t':
        s += "\\t";
        break;
      case '\r':
        s += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          s += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
          s += c;
    }
  }
  return s + "\"";
}

// A string (a key, or a quoted scalar): plain when plain text would read back as the same string.
std::string string_text(std::string_view t, bool flow) {
  if (is_null_text(t) || is_bool_like(t) || looks_numeric(t) || !plain_safe(t, flow)) return quote(t);
  return std::string(t);
}

// A scalar as it would be written back (to_yaml): unquoted scalars keep their text, which only
// needs quotes when it was built in code (not parsed) and cannot be written plain.
std::string scalar_text(const Value& v, bool flow) {
  if (v.is_null()) return "null";
  if (v.quoted()) return string_text(v.text(), flow);
  if (is_null_text(v.text()) || !plain_safe(v.text(), flow)) return quote(v.text());
  return v.text();
}

// ---- canonical numbers (YAML 1.2 core schema) ----

bool all_of_class(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = base == 8    ? (c >= '0' && c <= '7')
                    : base == 10 ? is_digit(c)
                                 : std::isxdigit(static_cast<unsigned char>(c)) != 0;
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> canonical_int(std::string_view t) {
  bool neg = false;
  std::string_view s = t;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.starts_with("0x"))
    base = 16, s.remove_prefix(2);
  else if (s.starts_with("0o"))
    base = 8, s.remove_prefix(2);
  if (!all_of_class(s, base)) return std::nullopt;
  std::uint64_t mag = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), mag, base);
  const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
  if (ec != std::errc() || p != s.data() + s.size() || mag > limit) {
    // Beyond int64: still normalise what formatting can change.
    if (base != 10) return std::string(t[0] == '+' ? t.substr(1) : t);
    const std::size_t nz = s.find_first_not_of('0');
    return std::string(neg ? "-" : "") + std::string(s.substr(nz == std::string_view::npos ? s.size() - 1 : nz));
  }
  if (mag == 0) return "0";
  return neg ? fmt::format("-{}", mag) : fmt::format("{}", mag);
}

bool is_core_float(std::string_view t) {
  std::string_view s = t;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  std::size_t i = 0;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
    if (int_digits == 0 && frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

std::string format_double(double d) {
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d < 0 ? "-.inf" : ".inf";
  // Shortest round-trip digits; fixed notation for exponents in [-4, 16), as Python's repr.
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const char* e = std::find(buf, r.ptr, 'e') + 1;  // buf is not NUL-terminated
  if (e < r.ptr && *e == '+') ++e;
  int exp10 = 0;
  std::from_chars(e, r.ptr, exp10);
  if (exp10 >= -4 && exp10 < 16) r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  // Keep it a float when read back ("1" would be an int).
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::optional<std::string> canonical_float(std::string_view t) {
  if (t == ".inf" || t == ".Inf" || t == ".INF" || t == "+.inf" || t == "+.Inf" || t == "+.INF") return ".inf";
  if (t == "-.inf" || t == "-.Inf" || t == "-.INF") return "-.inf";
  if (t == ".nan" || t == ".NaN" || t == ".NAN") return ".nan";
  if (!is_core_float(t)) return std::nullopt;
  std::string_view s = t;
  if (s[0] == '+') s.remove_prefix(1);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves d alone; classify by the exponent's sign.
    const bool tiny = s.find("e-") != std::string_view::npos || s.find("E-") != std::string_view::npos;
    d = tiny ? 0.0 : HUGE_VAL;
    if (s[0] == '-') d = -d;
  } else if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return format_double(d);
}

std::string canonical_scalar(const Value& v) {
  if (v.is_null()) return "null";
  if (!v.quoted()) {
    const std::string& t = v.text();
    if (is_null_text(t)) return "null";
    bool b = false;
    if (is_core_bool(t, b)) return b ? "true" : "false";
    if (auto i = canonical_int(t)) return *i;
    if (auto f = canonical_float(t)) return *f;
  }
  return string_text(v.text(), true);
}

void canonical_into(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::null:
    case Value::Kind::scalar:
      out += canonical_scalar(v);
      return;
    case Value::Kind::sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ", ";
        first = false;
        canonical_into(out, item);
      }
      out += ']';
      return;
    }
    case Value::Kind::map: {
      std::vector<const Value::Entry*> sorted;
      for (const auto& e : v.entries()) sorted.push_back(&e);
      std::sort(sorted.begin(), sorted.end(),
                [](const Value::Entry* a, const Value::Entry* b) { return a->key < b->key; });
      out += '{';
      bool first = true;
      for (const auto* e : sorted) {
        if (!first) out += ", ";
        first = false;
        out += string_text(e->key, true);
        out += ": ";
        canonical_into(out, e->value);
      }
      out += '}';
      return;
    }
  }
}

// ---- block YAML ----

bool inline_form(const Value& v) {
  return v.is_null() || v.is_scalar() || (v.is_map() && v.entries().empty()) || (v.is_sequence() && v.items().empty());
}

std::string inline_text(const Value& v) {
  if (v.is_map()) return "{}";
  if (v.is_sequence()) return "[]";
  return scalar_text(v, false);
}

void block_into(std::string& out, const Value& v, std::size_t indent) {
  const std::string pad(indent, ' ');
  if (v.is_map()) {
    for (const auto& e : v.entries()) {
      out += pad + string_text(e.key, false) + ':';
      if (inline_form(e.value)) {
        out += ' ' + inline_text(e.value) + '\n';
      } else {
        out += '\n';
        block_into(out, e.value, indent + 2);
      }
    }
  } else {
    for (const auto& item : v.items()) {
      if (inline_form(item)) {
        out += pad + "- " + inline_text(item) + '\n';
      } else {
        // The item's first line goes on the dash line: "- key: v" / "- - x".
        std::string sub;
        block_into(sub, item, indent + 2);
        out += pad + "- " + sub.substr(indent + 2);
      }
    }
  }
}

}  // namespace

std::string to_yaml(const Value& v) {
  if (inline_form(v)) return inline_text(v) + '\n';
  std::string out;
  block_into(out, v, 0);
  return out;
}

std::string canonical(const Value& v) {
  std::string out;
  canonical_into(out, v);
  return out;
}

std::string hash(const Value& v) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : canonical(v)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace attnlab::config
