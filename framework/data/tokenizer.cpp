#include "framework/data/tokenizer.h"

#include "framework/data/examples.h"

#include <fmt/format.h>

#include <algorithm>

namespace attnlab::data {

namespace {

bool word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Calls fn(word) for every word; `buf` holds a lowercased copy only when one is needed.
template <class F>
void for_each_word(std::string_view text, bool lowercase, std::string& buf, F&& fn) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    bool upper = false;
    for (; i < n && word_byte(static_cast<unsigned char>(text[i])); ++i) upper |= text[i] >= 'A' && text[i] <= 'Z';
    if (i == start) break;
    std::string_view w = text.substr(start, i - start);
    if (lowercase && upper) {
      buf.assign(w);
      for (char& c : buf)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      w = buf;
    }
    fn(w);
  }
}

}  // namespace

void split_words(std::string_view text, bool lowercase, std::vector<std::string>& out) {
  std::string buf;
  for_each_word(text, lowercase, buf, [&](std::string_view w) { out.emplace_back(w); });
}

std::vector<std::string> split_words(std::string_view text, bool lowercase) {
  std::vector<std::string> out;
  split_words(text, lowercase, out);
  return out;
}

void WordCounter::add_word(std::string_view word) {
  ++total_;
  if (auto it = counts_.find(word); it != counts_.end())
    ++it->second;
  else
    counts_.emplace(std::string(word), 1);
}

void WordCounter::add_text(std::string_view text, bool lowercase) {
  for_each_word(text, lowercase, buffer_, [&](std::string_view w) { add_word(w); });
}

std::int64_t WordCounter::count(std::string_view word) const {
  const auto it = counts_.find(word);
  return it == counts_.end() ? 0 : it->second;
}

Vocabulary::Vocabulary() : words_{"<pad>", "<unk>"} {}

Vocabulary Vocabulary::build(const WordCounter& counts, std::int64_t min_count, std::int64_t max_size) {
  if (min_count < 1 || max_size < 0)
    throw DataError(fmt::format("vocabulary: min_count {} must be >= 1 and max_size {} >= 0", min_count, max_size));
  std::vector<std::pair<std::string_view, std::int64_t>> kept;
  for (const auto& [w, n] : counts.counts())
    if (n >= min_count) kept.emplace_back(w, n);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_size > 0 && static_cast<std::int64_t>(kept.size()) > max_size)
    kept.resize(static_cast<std::size_t>(max_size));
  Vocabulary v;
  v.words_.reserve(kept.size() + 2);
  v.ids_.reserve(kept.size());
  for (const auto& [w, n] : kept) {
    v.ids_.emplace(std::string(w), v.size());
    v.words_.emplace_back(w);
  }
  return v;
}

Vocabulary Vocabulary::from_words(const std::vector<std::string>& words) {
  Vocabulary v;
  for (const auto& w : words)
    if (v.ids_.emplace(w, v.size()).second) v.words_.push_back(w);
  return v;
}

std::int64_t Vocabulary::id(std::string_view word) const {
  const auto it = ids_.find(word);
  return it == ids_.end() ? kUnknown : it->second;
}

const std::string& Vocabulary::word(std::int64_t id) const {
  if (id < 0 || id >= size()) throw DataError(fmt::format("vocabulary: id {} out of range [0, {})", id, size()));
  return words_[static_cast<std::size_t>(id)];
}

std::int64_t Vocabulary::encode(std::string_view text, bool lowercase, std::vector<std::int64_t>& out) const {
  std::string buf;
  std::int64_t oov = 0;
  for_each_word(text, lowercase, buf, [&](std::string_view w) {
    const std::int64_t i = id(w);
    oov += i == kUnknown;
    out.push_back(i);
  });
  return oov;
}

}  // namespace attnlab::data
