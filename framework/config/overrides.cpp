// Command-line overrides (Hydra grammar) and the key grammar they share with sweeps.
#include "framework/config/detail.h"
#include "framework/config/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace attnlab::config {

// ---- overrides ----------------------------------------------------------------------------------------

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

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

// As deep as a YAML document may nest (yaml_read.cpp): a longer key would build a deeper tree than
// any file can, for every recursive walk of the spec after it.
constexpr std::size_t kMaxKeySegments = 256;

// join_path over the first n segments, appending in place: linear in the key's length (a key of
// thousands of segments is bad input, not a reason to hang).
std::string dotted(const std::vector<std::string>& path, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n && i < path.size(); ++i) {
    if (!s.empty() && !path[i].empty() && path[i].front() != '[') s += '.';
    s += path[i];
  }
  return s;
}

}  // namespace

bool Mark::from_command_line() const { return file && file == command_line_file(); }

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
    if (r.path.size() > kMaxKeySegments) return fail(s, fmt::format("more than {} segments", kMaxKeySegments));
    while (j < key.size() && key[j] == '[') {
      std::size_t k = j + 1;
      while (k < key.size() && is_digit(key[k])) ++k;
      if (k == j + 1 || k >= key.size() || key[k] != ']') return fail(j, "bad list index (expected [n] with n >= 0)");
      if (k - j - 1 > 9) return fail(j + 1, "list index too large");
      r.path.emplace_back(key.substr(j, k - j + 1));
      if (r.path.size() > kMaxKeySegments) return fail(j, fmt::format("more than {} segments", kMaxKeySegments));
      j = k + 1;
    }
    if (j == key.size()) return r;
    if (key[j] != '.') return fail(j, fmt::format("unexpected character '{}' in key", key[j]));
    ++j;
  }
}

Override parse_override(const std::string& text, int arg_index) {
  const auto fail = [&](std::size_t pos, const std::string& msg) {
    throw ConfigError({Problem{Mark{command_line_file(), arg_index, static_cast<int>(pos) + 1},
                               "",
                               fmt::format("override '{}': {}", text, msg),
                               {}}});
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
  const auto parse_one = [&](const std::string& piece, std::size_t at) {
    Value v;
    bool empty = false;
    try {
      v = parse_impl(piece, "<command line>", empty);
    } catch (const ConfigError& e) {
      const Problem& p = e.problems().front();
      fail(at + static_cast<std::size_t>(std::max(p.mark.col, 1)) - 1, p.message);
    }
    if (empty) fail(at, "the value is only a comment; quote it to pass a string");
    if ((v.is_map() || v.is_sequence()) && piece[0] != '[' && piece[0] != '{')
      fail(at, "a list or map value must use flow syntax ([...] or {...}); quote the value to pass a string");
    shift_marks(v, arg_index, static_cast<int>(at));
    return v;
  };
  // Commas outside brackets and quotes separate the values of a multirun.
  std::vector<std::pair<std::size_t, std::size_t>> pieces;  // [begin, end) in vtext
  {
    int depth = 0;
    char quote = 0;
    std::size_t begin = 0;
    for (std::size_t i = 0; i < vtext.size(); ++i) {
      const char c = vtext[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
      } else if (c == ',' && depth == 0) {
        pieces.emplace_back(begin, i);
        begin = i + 1;
      }
    }
    pieces.emplace_back(begin, vtext.size());
  }
  if (pieces.size() == 1) {
    ov.value = parse_one(vtext, static_cast<std::size_t>(col_offset));
    return ov;
  }
  Value list = Value::sequence(Mark{command_line_file(), arg_index, col_offset + 1});
  for (auto [b, e] : pieces) {
    while (b < e && (vtext[b] == ' ' || vtext[b] == '\t')) ++b;
    while (e > b && (vtext[e - 1] == ' ' || vtext[e - 1] == '\t')) --e;
    if (b == e) fail(static_cast<std::size_t>(col_offset) + b, "empty value in a comma-separated list (a sweep)");
    ov.choices.push_back(parse_one(vtext.substr(b, e - b), static_cast<std::size_t>(col_offset) + b));
    list.items().push_back(ov.choices.back());
  }
  ov.value = std::move(list);
  return ov;
}

std::string dotted_key(const std::vector<std::string>& path) { return dotted(path, path.size()); }

std::optional<std::string> nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  const auto last = [](std::string_view k) {
    const auto dot = k.find_last_of('.');
    return dot == std::string_view::npos ? k : k.substr(dot + 1);
  };
  const std::string_view tail = last(key);
  std::optional<std::string> best;
  std::size_t best_common = 0;
  for (const auto& c : candidates) {
    if (c == key || last(c) != tail) continue;
    // A key elsewhere in the schema with the same name: only within the same section.
    const auto first = key.find('.');
    if (first != std::string::npos && c.compare(0, first + 1, key, 0, first + 1) != 0) continue;
    const auto common =
        static_cast<std::size_t>(std::mismatch(c.begin(), c.end(), key.begin(), key.end()).first - c.begin());
    if (!best || common > best_common) {
      best = c;
      best_common = common;
    }
  }
  if (best) return best;
  return nearest(key, candidates);
}

namespace {

bool sets_type(const Override& ov) {
  return ov.op != Override::Op::remove && !ov.path.empty() && ov.path.back() == "type";
}

}  // namespace

void apply_overrides(Value& root, const std::vector<Override>& overrides_in_order, const KeySchema* schema) {
  // A plugin's type first (shallowest first), so that its parameters apply to the new plugin.
  std::vector<const Override*> overrides;
  for (const auto& ov : overrides_in_order)
    if (sets_type(ov)) overrides.push_back(&ov);
  std::stable_sort(overrides.begin(), overrides.end(),
                   [](const Override* a, const Override* b) { return a->path.size() < b->path.size(); });
  for (const auto& ov : overrides_in_order)
    if (!sets_type(ov)) overrides.push_back(&ov);

  Problems problems;
  for (const Override* ovp : overrides) {
    const Override& ov = *ovp;
    const std::string key = dotted(ov.path, ov.path.size());
    const std::size_t plen = prefix_length(ov.op);
    const bool cols_known = ov.text.size() >= plen + key.size() && ov.text.compare(plen, key.size(), key) == 0;
    // Where segment i starts on the command line: after dotted(ov.path, i), whose lengths are summed
    // once here (computing each one per segment made a long key cubic).
    std::vector<std::size_t> offset(ov.path.size() + 1, 0);
    for (std::size_t i = 0; i < ov.path.size(); ++i)
      offset[i + 1] = offset[i] + ov.path[i].size() + (i > 0 && !ov.path[i].empty() && ov.path[i][0] != '[' ? 1 : 0);
    const auto mark_at = [&](std::size_t i) {
      Mark m = ov.mark;
      if (!m.file) m.file = command_line_file();
      if (!cols_known || m.col == 0) return m;
      m.col += static_cast<int>(plen + offset[i] + (i > 0 && ov.path[i][0] != '[' ? 1 : 0));
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
    if (!ov.choices.empty()) {
      problem(0, fmt::format("a comma-separated value is a sweep (Hydra's multirun); run it with `attnlab sweep`, "
                             "or quote the value ({}='{}') to pass one string",
                             key, ov.text.substr(ov.text.find('=') + 1)));
      continue;
    }
    // A plain set may create a key the schema knows (a default the file does not write).
    const bool known = ov.op == Override::Op::set && schema && schema->knows && schema->knows(root, ov.path);
    const bool create = ov.op == Override::Op::add || ov.op == Override::Op::set_or_add || known;
    const std::string hint_tail = ov.op == Override::Op::remove ? "nothing to remove"
                                  : schema ? fmt::format("use +{}=... to add a key the schema does not know", key)
                                           : fmt::format("use +{}=... to add it", key);
    const auto missing = [&](std::size_t i, const Value& parent) {
      const std::string here = dotted(ov.path, i + 1);
      std::string msg = fmt::format("key '{}' not in the spec{}", here, schema ? " or its schema" : "");
      std::optional<std::string> near;
      if (schema && schema->keys) near = nearest_key(key, schema->keys(root));
      if (!near && parent.is_map()) {
        if (auto sibling = nearest(ov.path[i], parent.keys())) near = join_path(dotted(ov.path, i), *sibling);
      }
      if (near) msg += fmt::format(" (did you mean '{}'?)", *near);
      problem(i, fmt::format("{}; {}", msg, hint_tail));
    };
    // Another plugin in a plugin node: the node becomes {type: new} (the old parameters go).
    const auto set_type = [&](Value& node, Value& existing) {
      if (!schema || ov.path.back() != "type" || !existing.is_scalar() || !ov.value->is_scalar() ||
          existing.text() == ov.value->text()) {
        existing = *ov.value;
        return;
      }
      Value fresh = Value::map(node.mark());
      fresh.set("type", *ov.value, mark_at(ov.path.size() - 1));
      node = std::move(fresh);
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
          if (existing)
            set_type(*cur, *existing);
          else if (known)
            cur->set(seg, *ov.value, mark_at(last));
          else
            missing(last, *cur);
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
            set_type(*cur, *existing);
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

Problem located(const Value& root, const PathError& e) {
  Mark mark = root.mark();
  const KeyPath k = parse_key(e.path());
  const Value* cur = &root;
  for (const auto& seg : k.path) {
    if (seg[0] == '[') {
      const auto i = std::stoull(seg.substr(1, seg.size() - 2));
      if (!cur->is_sequence() || i >= cur->items().size()) break;
      cur = &cur->items()[i];
      mark = cur->mark();
      continue;
    }
    const Value::Entry* found = nullptr;
    if (cur->is_map())
      for (const auto& entry : cur->entries())
        if (entry.key == seg) found = &entry;
    if (!found) break;
    mark = found->key_mark;
    cur = &found->value;
  }
  return Problem{mark, e.path(), e.message()};
}

}  // namespace attnlab::config
