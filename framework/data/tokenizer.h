// Words and vocabularies for text datasets.
//
// Tokenizing: a word is a maximal run of ASCII letters and digits; every byte >= 0x80 counts as a
// letter too, so UTF-8 words ("café", "naïve", emoji) stay whole and are never split inside a
// multi-byte character. Everything else (spaces, punctuation, control bytes) separates words. With
// `lowercase`, ASCII A-Z become a-z (bytes >= 0x80 are left as they are).
//   "Go until jurong point, crazy.. U dun say so early hor"  ->  go until jurong point crazy u dun ...
//   "T&C's apply 08452810075over18's"                        ->  t c s apply 08452810075over18 s
//
// Vocabulary: id 0 = padding, id 1 = out-of-vocabulary (OOV), words from id 2 on. It is built from
// word counts of the TRAINING texts only (WordCounter), keeping words seen at least min_count times,
// most frequent first, ties broken by the word's bytes in ascending order (so the ids do not depend
// on the order of the training texts), and at most max_size words (0 = no limit).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attnlab::data {

/// Appends the words of `text` to `out` (see the top of this file).
void split_words(std::string_view text, bool lowercase, std::vector<std::string>& out);
/// The words of `text`, as a new vector.
std::vector<std::string> split_words(std::string_view text, bool lowercase = true);

namespace detail {
struct WordHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using WordMap = std::unordered_map<std::string, std::int64_t, WordHash, std::equal_to<>>;
}  // namespace detail

/// Word frequencies over a set of texts.
class WordCounter {
 public:
  /// Counts every word of `text`.
  void add_text(std::string_view text, bool lowercase);
  /// Counts one word (already tokenized).
  void add_word(std::string_view word);
  /// How often `word` was counted (0 if never).
  std::int64_t count(std::string_view word) const;
  /// Distinct words counted.
  std::int64_t distinct() const { return static_cast<std::int64_t>(counts_.size()); }
  /// Words counted in total.
  std::int64_t total() const { return total_; }
  const detail::WordMap& counts() const { return counts_; }

 private:
  detail::WordMap counts_;
  std::int64_t total_ = 0;
  std::string buffer_;
};

/// A word <-> id mapping (see the top of this file).
class Vocabulary {
 public:
  static constexpr std::int64_t kPadding = 0;
  static constexpr std::int64_t kUnknown = 1;

  /// Only padding and OOV.
  Vocabulary();
  /// The vocabulary of `counts`: words with count >= min_count (min_count >= 1), most frequent
  /// first, ties by bytes ascending, at most max_size of them (0 = all).
  static Vocabulary build(const WordCounter& counts, std::int64_t min_count, std::int64_t max_size);
  /// A vocabulary with exactly these words, in this order (ids 2, 3, ...); a repeated word keeps its first id.
  static Vocabulary from_words(const std::vector<std::string>& words);

  /// Ids lie in [0, size()): 2 + the number of words.
  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  /// The id of `word`, or kUnknown.
  std::int64_t id(std::string_view word) const;
  /// The word of `id` ("<pad>" for 0, "<unk>" for 1). Throws DataError when id is out of range.
  const std::string& word(std::int64_t id) const;
  /// Appends the ids of the words of `text` to `out` (tokenized as split_words does); returns how
  /// many of them were OOV.
  std::int64_t encode(std::string_view text, bool lowercase, std::vector<std::int64_t>& out) const;

 private:
  std::vector<std::string> words_;  // words_[id]
  detail::WordMap ids_;
};

}  // namespace attnlab::data
