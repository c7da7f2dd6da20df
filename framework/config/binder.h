// Typed configs: one `visit()` per config struct gives YAML binding, the schema (help output and
// JSON), and the resolved config stored with results (STYLE.md section 4).
//
//   struct MultiHeadConfig {
//     int num_heads = 8;
//     double dropout = 0.0;
//     std::string mode = "scaled";
//     std::optional<int> dim_out;
//     template <class V> void visit(V& v) {
//       v("num_heads", num_heads).min(1).doc("number of parallel heads");
//       v("dropout", dropout).range(0.0, 1.0).doc("dropout on attention probabilities");
//       v("mode", mode).choices({"scaled", "plain"}).doc("score function");
//       v("dim_out", dim_out).doc("output width; absent: the input width");
//     }
//   };
//
// `v(name, field)` returns a declaration whose modifiers (.min .max .range .choices .doc) apply when
// the declaration ends (at the semicolon). `v.required(name, field)` declares a field without a
// default. Field types: bool, int, std::int64_t, float, double, std::string, std::vector<T>,
// std::optional<T> and std::map<std::string, T> (keys in sorted order) of those, nested structs with their own visit(),
// and (framework/registry) PluginSpec<Family>. YAML keys are spelled exactly like the fields.
//
// Binding never throws: every problem (unknown key with a nearest-name hint and the valid keys,
// missing required key, wrong type, out-of-range value, value not among the choices) goes into a
// Problems list with its mark and dotted path, so that a user sees every mistake at once.
#pragma once

#include "framework/config/value.h"

#include <fmt/format.h>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace attnlab::config {

/// One field of a schema, for `attnlab plugins` and for the Python scripts (as JSON).
struct FieldInfo {
  std::string name;
  std::string type;           // "int", "float", "bool", "string", "list of int", "attention plugin", ...
  std::string default_value;  // canonical text; empty when required or absent by default
  std::string doc;
  std::optional<double> min, max;
  std::vector<std::string> choices;
  bool required = false;
  bool optional = false;          // std::optional: may be absent
  std::vector<FieldInfo> fields;  // a nested struct's fields
};
using Schema = std::vector<FieldInfo>;

struct SchemaWriter;
namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class T>
struct is_map<std::map<std::string, T>> : std::true_type {};
}  // namespace detail
/// A config struct: it has a visit() template taking any of the visitors below.
template <class T>
concept Visitable = requires(T& t, SchemaWriter& s) {
  t.visit(s);
};

// ---- scalar conversions (YAML 1.2 core schema) ---------------------------------------------------

/// Parses a scalar as T; on failure returns nullopt and sets `why` ("expected int, got 'abc'").
std::optional<bool> parse_bool(const Value& v, std::string& why);
std::optional<std::int64_t> parse_int(const Value& v, std::string& why);
std::optional<double> parse_float(const Value& v, std::string& why);
/// Shortest text that parses back to the same double, always with a '.' ("0.1", "3.0", "1.0e-05", ".inf").
std::string format_float(double d);
/// A bound or limit for messages and help: whole numbers without a fraction ("0", "1"), others as format_float.
std::string format_number(double d);

template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_integral_v<T>)
    return "int";
  else if constexpr (std::is_floating_point_v<T>)
    return "float";
  else if constexpr (std::is_same_v<T, std::string>)
    return "string";
  else if constexpr (detail::is_vector<T>::value)
    return "list of " + type_name<typename T::value_type>();
  else if constexpr (detail::is_optional<T>::value)
    return type_name<typename T::value_type>();
  else if constexpr (detail::is_map<T>::value)
    return "map of " + type_name<typename T::mapped_type>();
  else if constexpr (requires { T::kTypeName; })
    return std::string(T::kTypeName);
  else
    return "map";
}

// ---- the declaration object ------------------------------------------------------------------------

template <class T>
struct FieldSpec {
  const char* name;
  T* ref;
  bool required = false;
  std::optional<double> lo, hi;
  std::vector<std::string> choices;
  std::string doc;
};

/// Returned by v(name, field); the visitor acts on it when it is destroyed (end of the statement).
template <class V, class T>
class FieldDecl {
 public:
  FieldDecl(V& v, const char* name, T& ref, bool required) : v_(v), s_{name, &ref, required, {}, {}, {}, {}} {}
  FieldDecl(const FieldDecl&) = delete;
  FieldDecl& operator=(const FieldDecl&) = delete;
  ~FieldDecl() { v_.finish(s_); }

  FieldDecl& min(double lo) {
    s_.lo = lo;
    return *this;
  }
  FieldDecl& max(double hi) {
    s_.hi = hi;
    return *this;
  }
  FieldDecl& range(double lo, double hi) {
    s_.lo = lo;
    s_.hi = hi;
    return *this;
  }
  FieldDecl& choices(std::initializer_list<const char*> c) {
    for (const char* x : c) s_.choices.emplace_back(x);
    return *this;
  }
  FieldDecl& choices(const std::vector<std::string>& c) {
    s_.choices.insert(s_.choices.end(), c.begin(), c.end());
    return *this;
  }
  FieldDecl& doc(std::string d) {
    s_.doc = std::move(d);
    return *this;
  }

 private:
  V& v_;
  FieldSpec<T> s_;
};

// ---- conversions of one value -----------------------------------------------------------------------
// bind_value(node, path, problems, out) reads a node into `out` (leaving it unchanged on a problem);
// to_value(x) writes `x` back as a Value. Overloads for new field types (PluginSpec) are found by ADL.

void bind_value(const Value& v, const std::string& path, Problems& p, bool& out);
void bind_value(const Value& v, const std::string& path, Problems& p, std::string& out);
void bind_value(const Value& v, const std::string& path, Problems& p, double& out);
void bind_value(const Value& v, const std::string& path, Problems& p, std::int64_t& out);
void bind_value(const Value& v, const std::string& path, Problems& p, float& out);
void bind_value(const Value& v, const std::string& path, Problems& p, int& out);

Value to_value(bool x);
Value to_value(const std::string& x);
Value to_value(double x);
Value to_value(float x);
Value to_value(std::int64_t x);
Value to_value(int x);

template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::vector<T>& out);
template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::optional<T>& out);
template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::map<std::string, T>& out);
template <Visitable T>
void bind_value(const Value& v, const std::string& path, Problems& p, T& out);
template <class T>
Value to_value(const std::vector<T>& x);
template <class T>
Value to_value(const std::optional<T>& x);
template <class T>
Value to_value(const std::map<std::string, T>& x);
template <Visitable T>
Value to_value(const T& x);

// ---- the three visitors -------------------------------------------------------------------------

/// Reads a map node into a config struct, collecting problems.
class Binder {
 public:
  Binder(const Value& node, std::string path, Problems& problems) : node_(node), path_(std::move(path)), p_(problems) {}

  template <class T>
  FieldDecl<Binder, T> operator()(const char* name, T& ref) {
    return {*this, name, ref, false};
  }
  template <class T>
  FieldDecl<Binder, T> required(const char* name, T& ref) {
    return {*this, name, ref, true};
  }

  /// Reports keys that no field consumed (unknown keys, with a hint and the valid keys).
  /// `ignore` lists keys handled elsewhere (a plugin's `type`).
  void finish_struct(const std::vector<std::string>& ignore = {});

  template <class T>
  void finish(const FieldSpec<T>& s);

 private:
  void check_number(const FieldSpec<double>& s, double x, const Value& at, const std::string& path);
  void check_choice(const std::vector<std::string>& choices, const std::string& x, const Value& at,
                    const std::string& path);

  const Value& node_;
  std::string path_;
  Problems& p_;
  std::vector<std::string> declared_;
};

/// Collects a struct's fields as a Schema.
struct SchemaWriter {
  Schema fields;
  template <class T>
  FieldDecl<SchemaWriter, T> operator()(const char* name, T& ref) {
    return {*this, name, ref, false};
  }
  template <class T>
  FieldDecl<SchemaWriter, T> required(const char* name, T& ref) {
    return {*this, name, ref, true};
  }
  template <class T>
  void finish(const FieldSpec<T>& s);
};

/// Writes a struct's current values as a map Value (the resolved config), in declaration order.
struct ValueWriter {
  Value out = Value::map();
  template <class T>
  FieldDecl<ValueWriter, T> operator()(const char* name, T& ref) {
    return {*this, name, ref, false};
  }
  template <class T>
  FieldDecl<ValueWriter, T> required(const char* name, T& ref) {
    return {*this, name, ref, true};
  }
  template <class T>
  void finish(const FieldSpec<T>& s) {
    if constexpr (requires { s.ref->has_value(); }) {
      if (!s.ref->has_value()) return;  // an absent optional stays absent
    }
    out.set(s.name, to_value(*s.ref));
  }
};

// ---- entry points -------------------------------------------------------------------------------

/// Binds `node` (a map, or null for "all defaults") into `cfg`; problems are added to `p`.
/// Rules across a config's fields ("dilations needs one entry per layer"). A config struct may
/// define `void check(config::FieldChecks& c) const` calling c.fail(field, why) for each broken
/// rule: binding runs it once every field bound cleanly, so the problem carries the field's
/// file:line:col (and `validate --spec-only` sees it); enforce() runs the same rules on a config
/// built in code (a plugin's constructor), throwing PathError at the first.
class FieldChecks {
 public:
  /// Reports problems into `p`, at the keys of `node` (the config's map) under `path`.
  FieldChecks(const Value& node, std::string path, Problems& p) : node_(&node), path_(std::move(path)), p_(&p) {}
  /// Throws PathError(field, why) at the first failure.
  FieldChecks() = default;
  void fail(std::string_view field, std::string why) {
    if (!p_) throw PathError(std::string(field), std::move(why));
    Mark mark = node_->mark();
    if (node_->is_map())
      for (const auto& e : node_->entries())
        if (e.key == field) mark = e.key_mark;
    p_->add(mark, join_path(path_, field), std::move(why));
  }

 private:
  const Value* node_ = nullptr;
  std::string path_;
  Problems* p_ = nullptr;
};

template <class C>
concept Checked = requires(const C& c, FieldChecks& k) {
  c.check(k);
};

/// Runs a config's check() (if it has one) on a config built in code: PathError at the first failure.
template <class C>
void enforce(const C& cfg) {
  if constexpr (Checked<C>) {
    FieldChecks k;
    cfg.check(k);
  }
}

template <Visitable C>
void bind(C& cfg, const Value& node, const std::string& path, Problems& p,
          const std::vector<std::string>& ignore = {}) {
  if (!node.is_null() && !node.is_map()) {
    p.add(node.mark(), path, fmt::format("expected a map, got {} '{}'", node.kind_name(), node.text()));
    return;
  }
  // A null section (`data:` with nothing under it) binds as an empty map at the null's place, so
  // that "missing required key" says where.
  const Value empty = node.is_null() ? Value::map(node.mark()) : Value();
  const Value& map = node.is_null() ? empty : node;
  const std::size_t before = p.size();
  Binder b(map, path, p);
  cfg.visit(b);
  b.finish_struct(ignore);
  if constexpr (Checked<C>) {
    if (p.size() == before) {
      FieldChecks k(map, path, p);
      cfg.check(k);
    }
  }
}

/// Binds or throws one ConfigError with every problem.
template <Visitable C>
C bind_or_throw(const Value& node, const std::string& path = "") {
  C cfg{};
  Problems p;
  config::bind(cfg, node, path, p);
  p.check();
  return cfg;
}

template <Visitable C>
Schema schema_of() {
  C cfg{};
  SchemaWriter w;
  cfg.visit(w);
  return w.fields;
}

// ---- implementation of the templates ---------------------------------------------------------------

template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::vector<T>& out) {
  if (!v.is_sequence()) {
    p.add(v.mark(), path, fmt::format("expected a list of {}, got {} '{}'", type_name<T>(), v.kind_name(), v.text()));
    return;
  }
  std::vector<T> r(v.items().size());
  const std::size_t before = p.size();
  for (std::size_t i = 0; i < r.size(); ++i) bind_value(v.items()[i], fmt::format("{}[{}]", path, i), p, r[i]);
  if (p.size() == before) out = std::move(r);
}

template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::optional<T>& out) {
  if (v.is_null()) {
    out.reset();
    return;
  }
  T x{};
  if (out) x = *out;
  const std::size_t before = p.size();
  bind_value(v, path, p, x);
  if (p.size() == before) out = std::move(x);
}

template <class T>
void bind_value(const Value& v, const std::string& path, Problems& p, std::map<std::string, T>& out) {
  if (!v.is_map()) {
    p.add(v.mark(), path, fmt::format("expected a map of {}, got {} '{}'", type_name<T>(), v.kind_name(), v.text()));
    return;
  }
  std::map<std::string, T> r;
  const std::size_t before = p.size();
  for (const auto& e : v.entries()) {
    T x{};
    if (auto it = out.find(e.key); it != out.end()) x = it->second;  // a default entry keeps its values
    bind_value(e.value, join_path(path, e.key), p, x);
    r.emplace(e.key, std::move(x));
  }
  if (p.size() == before) out = std::move(r);
}

template <class T>
Value to_value(const std::map<std::string, T>& x) {
  Value m = Value::map();
  for (const auto& [k, e] : x) m.set(k, to_value(e));
  return m;
}

template <Visitable T>
void bind_value(const Value& v, const std::string& path, Problems& p, T& out) {
  config::bind(out, v, path, p);
}

template <class T>
Value to_value(const std::vector<T>& x) {
  Value s = Value::sequence();
  for (const auto& e : x) s.push_back(to_value(e));
  return s;
}

template <class T>
Value to_value(const std::optional<T>& x) {
  return x ? to_value(*x) : Value::null();
}

template <Visitable T>
Value to_value(const T& x) {
  ValueWriter w;
  const_cast<T&>(x).visit(w);
  return std::move(w.out);
}

template <class T>
void Binder::finish(const FieldSpec<T>& s) {
  declared_.emplace_back(s.name);
  const std::string path = join_path(path_, s.name);
  const Value* v = node_.find(s.name);
  if (!v) {
    if (s.required) {
      p_.add(node_.mark(), path, fmt::format("missing required key '{}' ({})", s.name, type_name<T>()));
    } else if constexpr (Visitable<T>) {
      // An absent section still has to report its own required keys, at the parent's position.
      T x = *s.ref;
      const std::size_t before = p_.size();
      config::bind(x, Value::map(node_.mark()), path, p_);
      if (p_.size() == before) *s.ref = std::move(x);
    }
    return;
  }
  const std::size_t before = p_.size();
  T x = *s.ref;
  bind_value(*v, path, p_, x);
  if (p_.size() != before) return;
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    FieldSpec<double> d{s.name, nullptr, s.required, s.lo, s.hi, {}, {}};
    check_number(d, static_cast<double>(x), *v, path);
  } else if constexpr (std::is_same_v<T, std::string>) {
    check_choice(s.choices, x, *v, path);
  } else if constexpr (detail::is_optional<T>::value) {
    if constexpr (std::is_arithmetic_v<typename T::value_type>) {
      FieldSpec<double> d{s.name, nullptr, s.required, s.lo, s.hi, {}, {}};
      if (x) check_number(d, static_cast<double>(*x), *v, path);
    } else if constexpr (std::is_same_v<typename T::value_type, std::string>) {
      if (x) check_choice(s.choices, *x, *v, path);
    }
  } else if constexpr (detail::is_vector<T>::value) {
    using E = typename T::value_type;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::string ip = fmt::format("{}[{}]", path, i);
      if constexpr (std::is_arithmetic_v<E> && !std::is_same_v<E, bool>) {
        FieldSpec<double> d{s.name, nullptr, s.required, s.lo, s.hi, {}, {}};
        check_number(d, static_cast<double>(x[i]), v->items()[i], ip);
      } else if constexpr (std::is_same_v<E, std::string>) {
        check_choice(s.choices, x[i], v->items()[i], ip);
      }
    }
  }
  if (p_.size() == before) *s.ref = std::move(x);
}

template <class T>
void SchemaWriter::finish(const FieldSpec<T>& s) {
  FieldInfo f;
  f.name = s.name;
  f.type = type_name<T>();
  f.doc = s.doc;
  f.min = s.lo;
  f.max = s.hi;
  f.choices = s.choices;
  f.required = s.required;
  if constexpr (detail::is_optional<T>::value) {
    f.optional = true;
    if (s.ref->has_value()) f.default_value = canonical(to_value(**s.ref));
  } else if constexpr (Visitable<T>) {
    SchemaWriter inner;
    s.ref->visit(inner);
    f.fields = std::move(inner.fields);
  } else if constexpr (requires { describe_schema(f, *s.ref); }) {
    describe_schema(f, *s.ref);  // PluginSpec: family and default type
  } else if (!s.required) {
    f.default_value = canonical(to_value(*s.ref));
  }
  fields.push_back(std::move(f));
}

}  // namespace attnlab::config
