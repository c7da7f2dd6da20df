#include "framework/config/value.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace attnlab::config {

namespace fs = std::filesystem;

// ---- marks and problems ---------------------------------------------------------------------------

std::string Mark::str() const {
  if (!file) return "<default>";
  if (line == 0) return *file;
  return fmt::format("{}:{}:{}", *file, line, col);
}

std::string Problem::str() const {
  if (path.empty()) return fmt::format("{}: {}", mark.str(), message);
  return fmt::format("{}: {}: {}", mark.str(), path, message);
}

namespace {

// Sorts in place (the base class needs the text before the member is initialised).
std::string describe(std::vector<Problem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    const std::string_view fa = a.mark.file ? std::string_view(*a.mark.file) : std::string_view();
    const std::string_view fb = b.mark.file ? std::string_view(*b.mark.file) : std::string_view();
    if (fa != fb) return fa < fb;
    if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
    return a.mark.col < b.mark.col;
  });
  if (problems.empty()) return "configuration error";
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += '\n';
    out += p.str();
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(std::vector<Problem> problems) : Error(describe(problems)), problems_(std::move(problems)) {}

void Problems::check() const {
  if (!list_.empty()) throw ConfigError(list_);
}

// ---- Value -------------------------------------------------------------------------------------------

Value Value::scalar(std::string text, Mark mark, bool quoted) {
  Value v;
  v.kind_ = Kind::scalar;
  v.text_ = std::move(text);
  v.quoted_ = quoted;
  v.mark_ = std::move(mark);
  return v;
}

Value Value::sequence(Mark mark) {
  Value v;
  v.kind_ = Kind::sequence;
  v.mark_ = std::move(mark);
  return v;
}

Value Value::map(Mark mark) {
  Value v;
  v.kind_ = Kind::map;
  v.mark_ = std::move(mark);
  return v;
}

Value Value::null(Mark mark) {
  Value v;
  v.mark_ = std::move(mark);
  return v;
}

std::string_view Value::kind_name() const {
  switch (kind_) {
    case Kind::null:
      return "null";
    case Kind::scalar:
      return "scalar";
    case Kind::sequence:
      return "list";
    case Kind::map:
      return "map";
  }
  return "?";
}

const Value::Entry* Value::find_entry(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

const Value* Value::find(std::string_view key) const {
  const Entry* e = find_entry(key);
  return e ? &e->value : nullptr;
}

Value* Value::find(std::string_view key) {
  for (auto& e : entries_)
    if (e.key == key) return &e.value;
  return nullptr;
}

void Value::set(std::string key, Value v, Mark key_mark) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.value = std::move(v);
      if (key_mark.file || key_mark.line) e.key_mark = std::move(key_mark);
      return;
    }
  }
  entries_.push_back({std::move(key), std::move(key_mark), std::move(v)});
}

bool Value::erase(std::string_view key) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::vector<std::string> Value::keys() const {
  std::vector<std::string> k;
  k.reserve(entries_.size());
  for (const auto& e : entries_) k.push_back(e.key);
  return k;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::null:
      return true;
    case Value::Kind::scalar:
      return a.text_ == b.text_;
    case Value::Kind::sequence:
      return a.items_ == b.items_;
    case Value::Kind::map:
      if (a.entries_.size() != b.entries_.size()) return false;
      for (const auto& e : a.entries_) {
        const Value* o = b.find(e.key);
        if (!o || !(e.value == *o)) return false;
      }
      return true;
  }
  return false;
}

// ---- parsing ---------------------------------------------------------------------------------------

namespace {

// yaml-cpp would follow a recursive alias (`&a [*a]`) forever, and nested aliases can expand
// exponentially; both limits are far beyond any real spec.
constexpr int kMaxDepth = 256;
constexpr std::size_t kMaxNodes = 1'000'000;

struct Converter {
  std::shared_ptr<const std::string> file;
  Problems problems;
  std::size_t nodes = 0;
  bool aborted = false;

  Mark mark_of(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return Mark{file, 0, 0};
    return Mark{file, m.line + 1, m.column + 1};
  }

  std::string key_text(const YAML::Node& k, const std::string& path, int depth) {
    if (k.IsScalar()) return k.Scalar();
    if (k.IsNull()) return "null";
    return canonical(convert(k, path, depth + 1));
  }

  Value convert(const YAML::Node& n, const std::string& path, int depth) {
    const Mark mark = mark_of(n);
    if (aborted) return Value::null(mark);
    if (depth > kMaxDepth || ++nodes > kMaxNodes) {
      problems.add(mark, path,
                   depth > kMaxDepth ? fmt::format("nesting deeper than {} levels (a recursive alias?)", kMaxDepth)
                                     : fmt::format("more than {} nodes (aliases expanding too far?)", kMaxNodes));
      aborted = true;
      return Value::null(mark);
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar: {
        const std::string& tag = n.Tag();
        // Plain scalars have the non-specific tag "?"; quoted and block scalars have "!".
        const bool quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
        return Value::scalar(n.Scalar(), mark, quoted);
      }
      case YAML::NodeType::Sequence: {
        Value s = Value::sequence(mark);
        std::size_t i = 0;
        for (const auto& item : n) s.push_back(convert(item, fmt::format("{}[{}]", path, i++), depth + 1));
        return s;
      }
      case YAML::NodeType::Map: {
        Value m = Value::map(mark);
        std::unordered_map<std::string, Mark> seen;
        for (const auto& kv : n) {
          const Mark key_mark = mark_of(kv.first);
          std::string key = key_text(kv.first, path, depth);
          const std::string child_path = join_path(path, key);
          Value v = convert(kv.second, child_path, depth + 1);
          // An empty value ("key:" at the end of a line) gets the position of the next token;
          // the key is where the user looks.
          if (v.is_null() && (v.mark().line != key_mark.line || v.mark().line == 0)) v.set_mark(key_mark);
          auto [it, fresh] = seen.emplace(key, key_mark);
          if (!fresh) {
            problems.add(key_mark, child_path, fmt::format("duplicate key '{}' (first at {})", key, it->second.str()));
            continue;
          }
          m.entries().push_back({std::move(key), key_mark, std::move(v)});
        }
        return m;
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return Value::null(mark);
  }
};

// Parses text; `empty` is set for a document with no content at all.
Value parse_impl(std::string_view text, const std::string& source_name, bool& empty) {
  auto file = std::make_shared<const std::string>(source_name);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    Mark m{file, 0, 0};
    if (!e.mark.is_null()) m = Mark{file, e.mark.line + 1, e.mark.column + 1};
    throw ConfigError({Problem{m, "", e.msg}});
  }
  empty = docs.empty();
  if (docs.empty()) return Value::map(Mark{file, 1, 1});
  Converter c{file, {}, 0, false};
  if (docs.size() > 1) {
    Mark m = c.mark_of(docs[1]);
    c.problems.add(m, "", fmt::format("expected one YAML document, found {} ('---' starts another)", docs.size()));
  }
  Value v = c.convert(docs[0], "", 0);
  c.problems.check();
  return v;
}

}  // namespace

Value parse(std::string_view text, const std::string& source_name) {
  bool empty = false;
  return parse_impl(text, source_name, empty);
}

Value load_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw ConfigError(
        {Problem{Mark{std::make_shared<const std::string>(path), 0, 0}, "", "cannot read: is a directory"}});
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError({Problem{Mark{std::make_shared<const std::string>(path), 0, 0}, "",
                               fmt::format("cannot read: {}", std::strerror(errno))}});
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

// ---- includes ---------------------------------------------------------------------------------------

namespace {

struct IncludeFrame {
  std::string id;       // weakly canonical path, for cycle detection
  std::string display;  // relative to the root spec's folder, for the chain in messages
};

std::string display_path(const fs::path& p, const fs::path& root_dir) {
  if (root_dir.empty()) return p.string();
  fs::path rel = p.lexically_relative(root_dir);
  return rel.empty() ? p.string() : rel.string();
}

std::string chain_text(const std::vector<IncludeFrame>& chain, const std::string& last) {
  std::string s;
  for (const auto& f : chain) s += f.display + " -> ";
  return s + last;
}

Value load_spec_impl(const std::string& path, std::vector<IncludeFrame>& chain, const fs::path& root_dir) {
  Value doc = load_file(path);
  if (doc.is_null()) doc = Value::map(doc.mark());
  if (!doc.is_map()) return doc;
  const Value::Entry* inc = doc.find_entry("include");
  if (!inc) return doc;

  Problems problems;
  std::vector<std::pair<std::string, const Value*>> includes;  // (dotted path, scalar)
  const Value& iv = inc->value;
  if (iv.is_scalar()) {
    includes.emplace_back("include", &iv);
  } else if (iv.is_sequence()) {
    for (std::size_t i = 0; i < iv.items().size(); ++i) {
      const Value& item = iv.items()[i];
      const std::string ip = fmt::format("include[{}]", i);
      if (item.is_scalar())
        includes.emplace_back(ip, &item);
      else
        problems.add(item.mark(), ip, fmt::format("expected a path, got {}", item.kind_name()));
    }
  } else if (!iv.is_null()) {
    problems.add(iv.mark(), "include", fmt::format("expected a path or a list of paths, got {}", iv.kind_name()));
  }

  Value base = Value::map(doc.mark());
  const fs::path dir = fs::path(path).parent_path();
  for (const auto& [ipath, item] : includes) {
    const fs::path written(item->text());
    const fs::path resolved = (written.is_absolute() ? written : dir / written).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(resolved, ec)) {
      problems.add(item->mark(), ipath,
                   fmt::format("include '{}' not found (resolved to '{}')", item->text(), resolved.string()));
      continue;
    }
    const std::string id = fs::weakly_canonical(resolved, ec).string();
    const std::string shown = display_path(resolved, root_dir);
    if (std::any_of(chain.begin(), chain.end(), [&](const IncludeFrame& f) { return f.id == id; })) {
      problems.add(item->mark(), ipath, fmt::format("include cycle: {}", chain_text(chain, shown)));
      continue;
    }
    chain.push_back({id, shown});
    try {
      merge(base, load_spec_impl(resolved.string(), chain, root_dir));
    } catch (const ConfigError& e) {
      for (const auto& p : e.problems()) problems.add(p.mark, p.path, p.message);
    }
    chain.pop_back();
  }
  problems.check();
  doc.erase("include");
  merge(base, doc);
  return base;
}

}  // namespace

Value load_spec(const std::string& path) {
  const fs::path p = fs::path(path).lexically_normal();
  std::error_code ec;
  std::vector<IncludeFrame> chain{{fs::weakly_canonical(p, ec).string(), p.filename().string()}};
  return load_spec_impl(path, chain, p.parent_path());
}

void merge(Value& base, const Value& over) {
  if (!base.is_map() || !over.is_map()) {
    base = over;
    return;
  }
  for (const auto& e : over.entries()) {
    if (Value* b = base.find(e.key)) {
      if (b->is_map() && e.value.is_map()) {
        merge(*b, e.value);
      } else {
        base.set(e.key, e.value, e.key_mark);
      }
    } else {
      base.entries().push_back(e);
    }
  }
}

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

// ---- overrides ----------------------------------------------------------------------------------------

namespace {

const std::shared_ptr<const std::string>& command_line_file() {
  static const auto f = std::make_shared<const std::string>("<command line>");
  return f;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' || c == '@';
}

void shift_marks(Value& v, int line, int col_offset) {
  auto shift = [&](Mark& m) {
    if (m.line == 1) m.col += col_offset;
    m.file = command_line_file();
    m.line = line;
  };
  Mark m = v.mark();
  shift(m);
  v.set_mark(std::move(m));
  for (auto& item : v.items()) shift_marks(item, line, col_offset);
  for (auto& e : v.entries()) {
    shift(e.key_mark);
    shift_marks(e.value, line, col_offset);
  }
}

std::size_t prefix_length(Override::Op op) {
  switch (op) {
    case Override::Op::set:
      return 0;
    case Override::Op::set_or_add:
      return 2;
    case Override::Op::add:
    case Override::Op::remove:
      return 1;
  }
  return 0;
}

std::string dotted(const std::vector<std::string>& path, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && i < path.size(); ++i) s = join_path(s, path[i]);
  return s;
}

}  // namespace

KeyPath parse_key(std::string_view key) {
  KeyPath r;
  const auto fail = [&](std::size_t pos, std::string msg) {
    r.path.clear();
    r.error_pos = pos;
    r.error = std::move(msg);
    return r;
  };
  if (key.empty()) return fail(0, "missing key");
  std::size_t j = 0;
  while (true) {
    const std::size_t s = j;
    while (j < key.size() && is_key_char(key[j])) ++j;
    if (j == s) {
      if (j == key.size() || key[j] == '.') return fail(j, "empty key segment");
      if (key[j] == '[' && r.path.empty()) return fail(j, "a key must start with a name, not a list index");
      return fail(j, fmt::format("unexpected character '{}' in key", key[j]));
    }
    r.path.emplace_back(key.substr(s, j - s));
    while (j < key.size() && key[j] == '[') {
      std::size_t k = j + 1;
      while (k < key.size() && is_digit(key[k])) ++k;
      if (k == j + 1 || k >= key.size() || key[k] != ']') return fail(j, "bad list index (expected [n] with n >= 0)");
      if (k - j - 1 > 9) return fail(j + 1, "list index too large");
      r.path.emplace_back(key.substr(j, k - j + 1));
      j = k + 1;
    }
    if (j == key.size()) return r;
    if (key[j] != '.') return fail(j, fmt::format("unexpected character '{}' in key", key[j]));
    ++j;
  }
}

Override parse_override(const std::string& text, int arg_index) {
  const auto fail = [&](std::size_t pos, const std::string& msg) {
    throw ConfigError({Problem{Mark{command_line_file(), arg_index, static_cast<int>(pos) + 1}, "",
                               fmt::format("override '{}': {}", text, msg)}});
  };
  Override ov;
  ov.text = text;
  ov.mark = Mark{command_line_file(), arg_index, 1};
  if (text.starts_with("++"))
    ov.op = Override::Op::set_or_add;
  else if (text.starts_with("+"))
    ov.op = Override::Op::add;
  else if (text.starts_with("~"))
    ov.op = Override::Op::remove;
  const std::size_t start = prefix_length(ov.op);
  const std::size_t eq = text.find('=', start);
  const std::size_t end = eq == std::string::npos ? text.size() : eq;
  if (end == start) fail(start, text.empty() ? "empty override" : "missing key (expected key=value)");

  if (auto key = parse_key(std::string_view(text).substr(start, end - start)); key.ok())
    ov.path = std::move(key.path);
  else
    fail(start + key.error_pos, key.error);

  if (eq == std::string::npos) {
    if (ov.op != Override::Op::remove)
      fail(text.size(), fmt::format("expected '=' and a value (to remove the key: ~{})", text.substr(start)));
    return ov;
  }
  std::size_t vs = eq + 1;
  std::size_t ve = text.size();
  while (vs < ve && (text[vs] == ' ' || text[vs] == '\t')) ++vs;
  while (ve > vs && (text[ve - 1] == ' ' || text[ve - 1] == '\t')) --ve;
  const std::string vtext = text.substr(vs, ve - vs);
  const int col_offset = static_cast<int>(vs);
  if (vtext.empty()) {
    ov.value = Value::scalar("", Mark{command_line_file(), arg_index, col_offset + 1}, true);
    return ov;
  }
  Value v;
  bool empty = false;
  try {
    v = parse_impl(vtext, "<command line>", empty);
  } catch (const ConfigError& e) {
    const Problem& p = e.problems().front();
    fail(vs + static_cast<std::size_t>(std::max(p.mark.col, 1)) - 1, p.message);
  }
  if (empty) fail(vs, "the value is only a comment; quote it to pass a string");
  if ((v.is_map() || v.is_sequence()) && vtext[0] != '[' && vtext[0] != '{')
    fail(vs, "a list or map value must use flow syntax ([...] or {...}); quote the value to pass a string");
  shift_marks(v, arg_index, col_offset);
  ov.value = std::move(v);
  return ov;
}

void apply_overrides(Value& root, const std::vector<Override>& overrides) {
  Problems problems;
  for (const Override& ov : overrides) {
    const std::string key = dotted(ov.path, ov.path.size());
    const std::size_t plen = prefix_length(ov.op);
    const bool cols_known = ov.text.size() >= plen + key.size() && ov.text.compare(plen, key.size(), key) == 0;
    // Where segment i starts on the command line.
    const auto mark_at = [&](std::size_t i) {
      Mark m = ov.mark;
      if (!m.file) m.file = command_line_file();
      if (!cols_known || m.col == 0) return m;
      m.col += static_cast<int>(plen + dotted(ov.path, i).size() + (i > 0 && ov.path[i][0] != '[' ? 1 : 0));
      return m;
    };
    const auto problem = [&](std::size_t i, const std::string& msg) {
      problems.add(mark_at(i), "", fmt::format("override '{}': {}", ov.text, msg));
    };
    if (ov.path.empty()) {
      problem(0, "empty key");
      continue;
    }
    if (ov.op != Override::Op::remove && !ov.value) {
      problem(0, "no value");
      continue;
    }
    const bool create = ov.op == Override::Op::add || ov.op == Override::Op::set_or_add;
    const std::string hint_tail =
        ov.op == Override::Op::remove ? "nothing to remove" : fmt::format("use +{}=... to add it", key);
    const auto missing = [&](std::size_t i, const Value& parent) {
      const std::string here = dotted(ov.path, i + 1);
      std::string msg = fmt::format("key '{}' not in the spec", here);
      if (parent.is_map()) {
        if (auto near = nearest(ov.path[i], parent.keys()))
          msg += fmt::format(" (did you mean '{}'?)", join_path(dotted(ov.path, i), *near));
      }
      problem(i, fmt::format("{}; {}", msg, hint_tail));
    };
    const auto wrong_kind = [&](std::size_t i, const Value& at) {
      const std::string here = dotted(ov.path, i);
      if (ov.path[i][0] == '[') {
        problem(i, fmt::format("'{}' is a {}, not a list; cannot index it with {}", here, at.kind_name(), ov.path[i]));
      } else if (at.is_sequence()) {
        problem(i, fmt::format("'{}' is a list; index it like {}[0]", here, here));
      } else {
        problem(i, fmt::format("'{}' is a scalar ('{}'); it has no key '{}'", here, at.text(), ov.path[i]));
      }
    };
    const auto index_of = [&](const std::string& seg) { return std::stoull(seg.substr(1, seg.size() - 2)); };

    // An add may create parent maps before it fails: work on a copy then.
    const auto apply_one = [&](Value& target) {
      Value* cur = &target;
      bool ok = true;
      const std::size_t last = ov.path.size() - 1;
      for (std::size_t i = 0; i < last && ok; ++i) {
        const std::string& seg = ov.path[i];
        if (seg[0] == '[') {
          if (!cur->is_sequence()) {
            wrong_kind(i, *cur);
            ok = false;
          } else if (const auto idx = index_of(seg); idx >= cur->items().size()) {
            problem(i, fmt::format("index {} out of range: '{}' has {} items", idx, dotted(ov.path, i),
                                   cur->items().size()));
            ok = false;
          } else {
            cur = &cur->items()[idx];
          }
          continue;
        }
        if (cur->is_null() && create) *cur = Value::map(mark_at(i));
        if (!cur->is_map() && !cur->is_null()) {
          wrong_kind(i, *cur);
          ok = false;
        } else if (Value* next = cur->is_map() ? cur->find(seg) : nullptr) {
          cur = next;
        } else if (create) {
          cur->set(seg, Value::map(mark_at(i + 1)), mark_at(i));
          cur = cur->find(seg);
        } else {
          missing(i, *cur);
          ok = false;
        }
      }
      if (!ok) return;

      const std::string& seg = ov.path[last];
      if (seg[0] == '[') {
        if (!cur->is_sequence()) {
          wrong_kind(last, *cur);
          return;
        }
        auto& items = cur->items();
        const auto idx = index_of(seg);
        const std::string here = dotted(ov.path, last);
        if (ov.op == Override::Op::add && idx == items.size()) {
          items.push_back(*ov.value);
        } else if (ov.op == Override::Op::add && idx < items.size()) {
          problem(last, fmt::format("'{}' already exists; use {}=... or ++{}=... to set it", key, key, key));
        } else if (idx >= items.size()) {
          problem(
              last,
              fmt::format("index {} out of range: '{}' has {} items{}", idx, here, items.size(),
                          ov.op == Override::Op::add ? fmt::format(" (+{}[{}]=... appends)", here, items.size()) : ""));
        } else if (ov.op == Override::Op::remove) {
          if (ov.value && canonical(items[idx]) != canonical(*ov.value)) {
            problem(last, fmt::format("the value of '{}' is {}, not {}; nothing removed", key, canonical(items[idx]),
                                      canonical(*ov.value)));
          } else {
            items.erase(items.begin() + static_cast<std::ptrdiff_t>(idx));
          }
        } else {
          items[idx] = *ov.value;
        }
        return;
      }
      if (cur->is_null() && create) *cur = Value::map(mark_at(last));
      if (!cur->is_map() && !cur->is_null()) {
        wrong_kind(last, *cur);
        return;
      }
      Value* existing = cur->is_map() ? cur->find(seg) : nullptr;
      switch (ov.op) {
        case Override::Op::set:
          if (!existing)
            missing(last, *cur);
          else
            *existing = *ov.value;
          break;
        case Override::Op::add:
          if (existing) {
            problem(last, fmt::format("key '{}' is already in the spec (value {}); use {}=... or ++{}=... to set it",
                                      key, canonical(*existing), key, key));
          } else {
            cur->set(seg, *ov.value, mark_at(last));
          }
          break;
        case Override::Op::set_or_add:
          if (existing)
            *existing = *ov.value;
          else
            cur->set(seg, *ov.value, mark_at(last));
          break;
        case Override::Op::remove:
          if (!existing) {
            missing(last, *cur);
          } else if (ov.value && canonical(*existing) != canonical(*ov.value)) {
            problem(last, fmt::format("the value of '{}' is {}, not {}; nothing removed", key, canonical(*existing),
                                      canonical(*ov.value)));
          } else {
            cur->erase(seg);
          }
          break;
      }
    };
    if (!create) {
      apply_one(root);
      continue;
    }
    Value work = root;
    const std::size_t before = problems.size();
    apply_one(work);
    if (problems.size() == before) root = std::move(work);
  }
  problems.check();
}

// ---- helpers for messages ----------------------------------------------------------------------------

std::string join_path(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  if (child.empty()) return std::string(parent);
  if (child.front() == '[') return fmt::format("{}{}", parent, child);
  return fmt::format("{}.{}", parent, child);
}

}  // namespace attnlab::config
