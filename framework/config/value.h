// Value: a parsed YAML document as a plain tree that remembers where every node came from.
//
// Specs are merged (`include:`), overridden from the command line and swept before anything is
// bound to typed configs, and every error must still point at the file, line and column that
// caused it. yaml-cpp's nodes know their line but not their file and cannot be merged safely, so the
// loader converts them once into this tree: maps keep their keys in file order, every node and
// every key carries a Mark, and scalars keep their text (typing happens when a config binds them).
//
// This is the only header of framework/config that the rest of the engine needs to see. Its
// implementation is split by job: value.cpp (the tree), yaml_read.cpp (YAML in; the only file that
// includes yaml-cpp), includes.cpp (include: and merge), canonical.cpp (YAML out, canonical form,
// hash), overrides.cpp (overrides and the key grammar); core/suggest.h has the "did you mean".
#pragma once

#include "framework/core/error.h"
#include "framework/core/suggest.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attnlab::config {

/// A position in a source: file, 1-based line and column. line == 0: no position (a default).
struct Mark {
  std::shared_ptr<const std::string> file;  // shared by every node of a document
  int line = 0;
  int col = 0;
  /// "file:line:col", "file" without a position, or "<default>" without a file.
  std::string str() const;
};

/// One problem in a spec: where, which dotted config path, what.
struct Problem {
  Mark mark;
  std::string path;  // "model.encoder.layers[2].attention.dropout"; empty for document-level problems
  std::string message;
  /// "file:line:col: path: message"
  std::string str() const;
};

/// Every problem found in one pass over a spec. what() lists them, one per line, in source order.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Problem> problems);
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

/// Collects problems; `check()` throws one ConfigError holding all of them, if any.
class Problems {
 public:
  void add(Mark mark, std::string path, std::string message) {
    list_.push_back({std::move(mark), std::move(path), std::move(message)});
  }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  const std::vector<Problem>& list() const { return list_; }
  void check() const;

 private:
  std::vector<Problem> list_;
};

class Value {
 public:
  enum class Kind { null, scalar, sequence, map };
  struct Entry;

  Value() = default;
  static Value scalar(std::string text, Mark mark = {}, bool quoted = false);
  static Value sequence(Mark mark = {});
  static Value map(Mark mark = {});
  static Value null(Mark mark = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_scalar() const { return kind_ == Kind::scalar; }
  bool is_sequence() const { return kind_ == Kind::sequence; }
  bool is_map() const { return kind_ == Kind::map; }
  /// "null", "scalar", "list" or "map" (for messages).
  std::string_view kind_name() const;

  const Mark& mark() const { return mark_; }
  void set_mark(Mark m) { mark_ = std::move(m); }

  // Scalars. `text` is the scalar as written; `quoted` is true for '...' and "..." scalars, which
  // are always strings ("1" quoted is the string 1, not the integer).
  const std::string& text() const { return text_; }
  bool quoted() const { return quoted_; }

  // Sequences.
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  void push_back(Value v) { items_.push_back(std::move(v)); }

  // Maps, in insertion (file) order.
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  const Entry* find_entry(std::string_view key) const;
  /// Replaces the value of `key`, or appends the entry.
  void set(std::string key, Value v, Mark key_mark = {});
  /// Removes `key`; false when absent.
  bool erase(std::string_view key);
  std::vector<std::string> keys() const;

  /// Structural equality (marks and quoting ignored; scalars compared by text; maps compared as
  /// sets of keys, so key order is ignored too).
  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::null;
  Mark mark_;
  std::string text_;
  bool quoted_ = false;
  std::vector<Value> items_;
  std::vector<Entry> entries_;
};

struct Value::Entry {
  std::string key;
  Mark key_mark;
  Value value;
};

// ---- loading ---------------------------------------------------------------------------------

/// Parses one YAML document. Malformed YAML and duplicate keys throw ConfigError with the
/// position (1-based) and, for duplicates, both places; so does a second document (`---`).
/// An empty document (nothing but whitespace and comments) is an empty map; `~`, `null` and an
/// empty value are null. Quoted and block (`|`, `>`) scalars and `!!str` scalars are quoted().
/// Aliases are expanded (a recursive alias is an error). Non-string keys become their text.
Value parse(std::string_view text, const std::string& source_name);
/// Reads and parses a file; an unreadable file is a ConfigError naming it.
Value load_file(const std::string& path);

/// Loads a spec file and resolves `include:` (a path or a list of paths, relative to the including
/// file) recursively: the included documents are deep-merged in order, then the including document
/// over them (later wins). A missing include or an include cycle is a ConfigError at the include
/// entry, naming the chain. The `include` key is removed from the result.
Value load_spec(const std::string& path);

/// Deep merge: maps merge key by key (recursively); anything else in `over` replaces `base`.
/// An explicit null in `over` replaces too.
void merge(Value& base, const Value& over);

// ---- command-line overrides (Hydra's grammar) -------------------------------------------------

/// `a.b.c=value` (set an existing key), `+a.b=value` (add a new key; missing parent maps are
/// created), `++a.b=value` (set or add), `~a.b` (remove; `~a.b=value` removes only if the value
/// is equal, and is a problem otherwise, as in Hydra). The value is YAML flow syntax:
/// `3e-4`, `lstm`, `[1,2]`, `{k: v}`, `'quoted text'`, `null`; an empty value (`a=`) is the empty
/// string, as in Hydra. Key segments are [A-Za-z0-9_/@-]; a segment may index a list:
/// `model.layers[1].width=8` (indices must exist, except that `+list[n]=v` with n == size appends).
/// Values carry marks on the command line ("<command line>:<arg_index>:<col>"), so a value that
/// later fails to bind points at the argument that set it.
struct Override {
  enum class Op { set, add, set_or_add, remove };
  Op op = Op::set;
  std::vector<std::string> path;  // segments; list indices as "[1]"
  std::optional<Value> value;     // absent for a plain remove
  std::string text;               // as given, for messages
  Mark mark;                      // "<command line>:<arg_index>:1": where problems point
};

/// Parses one override; a malformed one throws ConfigError at "<command line>:<arg_index>:<col>"
/// (col: 1-based column in the argument) saying "override 'text': ...".
Override parse_override(const std::string& text, int arg_index = 1);
/// A dotted key with list indices, in the one grammar overrides and sweeps share:
/// "model.layers[1].width" -> {"model", "layers", "[1]", "width"}. A name segment holds letters,
/// digits, '_', '-', '/' and '@'; an index is [n], n >= 0.
struct KeyPath {
  std::vector<std::string> path;  ///< empty when malformed
  std::string error;              ///< why it is malformed
  std::size_t error_pos = 0;      ///< where (0-based, in the key)
  bool ok() const { return error.empty(); }
};
KeyPath parse_key(std::string_view key);

/// Applies overrides in order to a spec. A set of a missing key (with the nearest existing key as
/// a hint), an add of an existing key, a remove of a missing key, or a path through a scalar are
/// problems, all collected and thrown together as one ConfigError (an override with a problem is
/// skipped; the others still apply).
void apply_overrides(Value& root, const std::vector<Override>& overrides);

// ---- output ----------------------------------------------------------------------------------

/// Block-style YAML, keys in the tree's order (what `attnlab show` prints). Strings are quoted only
/// when plain text would read back differently (`'yes'`, `'1'`, `''`, `':'`), so
/// parse(to_yaml(v)) == v.
std::string to_yaml(const Value& v);
/// A canonical one-line form in YAML flow syntax: map keys sorted, scalars normalised under the
/// YAML 1.2 core schema: ints in decimal (`010`, `+10`, `0xa` -> `10`), floats in shortest
/// round-trip form that still reads as a float (`1e3` -> `1000.0`, `3e-4` -> `0.0003`, `.inf`,
/// `.nan`), booleans as true/false, null as null, strings quoted only when needed (a quoted `'1'`
/// stays distinct from the int 1). Two specs that differ only in key order or formatting have the
/// same canonical form.
std::string canonical(const Value& v);
/// 16 hex digits of a 64-bit FNV-1a hash of canonical(v): stable across runs and machines.
std::string hash(const Value& v);

// ---- helpers for messages ---------------------------------------------------------------------

using core::edit_distance;  // core/suggest.h: the message helpers of every layer
using core::nearest;
/// Joins a dotted path: join_path("model", "encoder") == "model.encoder"; join_path("a", "[2]") == "a[2]".
std::string join_path(std::string_view parent, std::string_view child);

}  // namespace attnlab::config
