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
#include <functional>
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
  /// True for a position in a command-line override ("<command line>:<arg_index>:<col>").
  bool from_command_line() const;
};

/// One problem in a spec: where, which dotted config path, what.
struct Problem {
  Problem() = default;
  Problem(Mark mark_, std::string path_, std::string message_, std::string unknown_key_ = {})
      : mark(std::move(mark_)), path(std::move(path_)), message(std::move(message_)),
        unknown_key(std::move(unknown_key_)) {}
  Mark mark;
  std::string path;  // "model.encoder.layers[2].attention.dropout"; empty for document-level problems
  std::string message;
  /// For "unknown key" problems: the key as written (so a caller that knows the whole schema can
  /// add a better hint); empty otherwise.
  std::string unknown_key;
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

/// A problem with a config value found after binding, once the data or the model's shapes are
/// known ("num_heads 3 does not divide the input width 16"): it names the config path, so the
/// run reports it at the line that wrote it (see located()). A plugin's constructor throws it
/// with a path relative to its own node (`PathError("num_heads", ...)`); registry::create prefixes
/// the plugin's path.
class PathError : public Error {
 public:
  PathError(std::string path, std::string message)
      : Error(path.empty() ? message : path + ": " + message), path_(std::move(path)), message_(std::move(message)) {}
  const std::string& path() const { return path_; }
  const std::string& message() const { return message_; }

 private:
  std::string path_, message_;
};

/// Collects problems; `check()` throws one ConfigError holding all of them, if any.
class Problems {
 public:
  void add(Mark mark, std::string path, std::string message) {
    list_.push_back({std::move(mark), std::move(path), std::move(message), {}});
  }
  void add(Problem p) { list_.push_back(std::move(p)); }
  bool empty() const { return list_.empty(); }
  std::size_t size() const { return list_.size(); }
  const std::vector<Problem>& list() const { return list_; }
  std::vector<Problem>& list() { return list_; }
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
  void push_back(Value v);

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

// Defined once Entry is complete: clang checks std::vector<Entry>'s destructor when it instantiates this.
inline void Value::push_back(Value v) { items_.push_back(std::move(v)); }

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
/// A plugin node (a map with a `type` key) whose type `over` changes is replaced, not merged: the old
/// plugin's parameters are dropped, as Hydra's config groups do.
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
  /// `key=a,b,c` (commas outside brackets and quotes): Hydra's multirun, one value per item; the
  /// experiment layer turns it into a sweep axis. apply_overrides refuses it.
  std::vector<Value> choices;
};

/// "model.layers[1].width" from {"model", "layers", "[1]", "width"}.
std::string dotted_key(const std::vector<std::string>& path);

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

/// What a typed schema knows beyond the keys written in a spec (the experiment layer supplies it).
struct KeySchema {
  /// True when `path` names a key the schema has for `root` (a default not written in the file,
  /// or a parameter of the plugin type `root` selects): a plain `key=value` may set it.
  std::function<bool(const Value& root, const std::vector<std::string>& path)> knows;
  /// Every dotted key the schema has for `root`, for "did you mean" over the whole schema.
  std::function<std::vector<std::string>(const Value& root)> keys;
};

/// Applies overrides to a spec: those that set a plugin's `type` first (shallowest first), then the
/// others in order, so `model.attention.num_heads=2 model.attention.type=multi_head` means what it
/// says. With a schema (the experiment layer's): setting a plugin node's `type` to another plugin
/// replaces the node with `{type: new}` (its old parameters are dropped; Hydra's config groups), and
/// a plain `key=value` may set any key the schema knows (defaults not in the file); `+` remains for
/// keys it does not know. A set of
/// an unknown key (with the nearest key of the whole schema as a hint), an add of an existing key, a
/// remove of a missing key, or a path through a scalar are problems, all collected and thrown
/// together as one ConfigError (an override with a problem is skipped; the others still apply).
void apply_overrides(Value& root, const std::vector<Override>& overrides, const KeySchema* schema = nullptr);

/// The key of `candidates` (dotted keys) nearest to dotted `key`: one with the same last segment
/// (sharing the longest prefix with `key`), else the nearest whole key within edit distance 2 of it.
std::optional<std::string> nearest_key(const std::string& key, const std::vector<std::string>& candidates);

/// "file:line:col: path: message" for a PathError, at the deepest node of `root` on its path (the
/// key's mark when the key is written, else the nearest written parent's).
Problem located(const Value& root, const PathError& e);

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
