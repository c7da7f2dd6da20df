// The tree: marks, problems, Value, and the dotted-path helper.
#include "framework/config/value.h"

#include <fmt/format.h>

#include <algorithm>

#include <filesystem>

namespace attnlab::config {

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

// ---- helpers for messages ----------------------------------------------------------------------------

std::string join_path(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  if (child.empty()) return std::string(parent);
  if (child.front() == '[') return fmt::format("{}{}", parent, child);
  return fmt::format("{}.{}", parent, child);
}

}  // namespace attnlab::config
