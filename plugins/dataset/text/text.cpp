#include "plugins/dataset/text/text.h"

#include "framework/core/suggest.h"
#include "framework/data/splits.h"
#include "framework/data/text_file.h"
#include "framework/data/tokenizer.h"
#include "framework/registry/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

namespace attnlab::plugins {

namespace {

constexpr const char* kWho = "dataset text";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "<TAB>" for a tab, else the character itself (for messages).
std::string shown(char d) { return d == '\t' ? "<TAB>" : std::string(1, d); }

// Where the label and the text are in one file's rows: from the config alone, or from its header.
struct Layout {
  std::size_t label = 0, text = 1;
  std::size_t fields = 2;  // a row needs at least this many fields
  bool text_rest = true;   // the text column takes the rest of the line, further delimiters included
  bool exact = false;      // a row must not have more than `fields` fields (header, text not last)
  std::string shape;       // what a row looks like, for messages
  std::string label_name;  // "column 'score'" / "field 0"
};

Layout headerless(const TextConfig& c, char d) {
  Layout l;
  l.label = static_cast<std::size_t>(c.label_index);
  l.text = static_cast<std::size_t>(c.text_index);
  l.fields = std::max(l.label, l.text) + 1;
  l.text_rest = l.text > l.label;
  l.label_name = fmt::format("field {}", l.label);
  if (l.fields <= 8) {
    std::string pattern;
    for (std::size_t i = 0; i < l.fields; ++i)
      pattern += (i == 0 ? "" : shown(d)) + std::string(i == l.label ? "label" : i == l.text ? "text" : "?");
    l.shape = fmt::format("{} (at least {} fields)", pattern, l.fields);
  } else {
    l.shape = fmt::format("at least {} fields (label = field {}, text = field {})", l.fields, l.label, l.text);
  }
  return l;
}

// The layout a header line gives. Throws DataError "<where>: ..." when a named column is not in the
// header (listing its columns), is named twice, an index lies beyond it, or label and text coincide.
Layout from_header(const TextConfig& c, char d, std::string_view line, const std::string& where) {
  std::vector<std::string> names;
  data::split_fields(line, d, 0, true, names);  // no quoting: quotes are ordinary characters
  auto pick = [&](const std::string& name, std::int64_t index, const char* what) {
    if (name.empty()) {
      if (static_cast<std::size_t>(index) >= names.size())
        throw data::DataError(fmt::format("{}: {}_index {} is beyond the header's {} columns: {}", where, what, index,
                                          names.size(), core::join_names(names)));
      return static_cast<std::size_t>(index);
    }
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      throw data::DataError(fmt::format("{}: no column '{}' ({}_col) in the header; columns: {}", where, name, what,
                                        core::join_names(names)));
    if (std::find(it + 1, names.end(), name) != names.end())
      throw data::DataError(fmt::format("{}: the header names column '{}' ({}_col) twice", where, name, what));
    return static_cast<std::size_t>(it - names.begin());
  };
  Layout l;
  l.label = pick(c.label_col, c.label_index, "label");
  l.text = pick(c.text_col, c.text_index, "text");
  if (l.label == l.text)
    throw data::DataError(fmt::format("{}: the label and the text are the same column '{}'", where, names[l.label]));
  l.fields = names.size();
  l.text_rest = l.text + 1 == names.size();
  l.exact = !l.text_rest;
  l.shape = fmt::format("{} fields ({})", names.size(), core::join_names(names));
  l.label_name = fmt::format("column '{}'", names[l.label]);
  return l;
}

const data::Column& find_column(const data::Table& t, const std::string& name) {
  for (const auto& c : t.columns)
    if (c.name == name) return c;
  std::vector<std::string> names;
  for (const auto& c : t.columns) names.push_back(c.name);
  throw data::DataError(
      fmt::format("{}: no column '{}' in the table; columns: {}", kWho, name, core::join_names(names)));
}

// A seeded split of `rows` into train and valid (valid_ratio of them, rounded).
void carve(const std::vector<std::int64_t>& rows, double valid_ratio, std::uint64_t seed, data::Splits& out) {
  const auto s = data::random_split(static_cast<std::int64_t>(rows.size()), 1.0 - valid_ratio, valid_ratio, seed, kWho);
  for (const auto i : s.train) out.train.push_back(rows[static_cast<std::size_t>(i)]);
  for (const auto i : s.test) out.train.push_back(rows[static_cast<std::size_t>(i)]);  // rounding leftovers
  for (const auto i : s.valid) out.valid.push_back(rows[static_cast<std::size_t>(i)]);
  std::sort(out.train.begin(), out.train.end());
}

}  // namespace

TextDataset::TextDataset(const TextConfig& c, const Context& ctx) : c_(c) {
  if (c_.kind == "binary" && c_.positive.empty())
    throw data::DataError(fmt::format("{}: kind binary needs `positive`, the label that counts as 1", kWho));
  if (c_.test_path.empty() && c_.train_ratio + c_.valid_ratio > 1.0 + 1e-12)
    throw data::DataError(
        fmt::format("{}: train_ratio + valid_ratio = {} + {} exceeds 1", kWho, c_.train_ratio, c_.valid_ratio));
  if (c_.delimiter == "tab")
    delimiter_ = '\t';
  else if (c_.delimiter.size() == 1)
    delimiter_ = c_.delimiter[0];
  else
    throw data::DataError(fmt::format("{}: delimiter '{}' is not one character or 'tab'", kWho, c_.delimiter));
  if (!c_.header && (!c_.label_col.empty() || !c_.text_col.empty()))
    throw data::DataError(fmt::format(
        "{}: label_col and text_col name columns of a header line: set header: true, or pick the columns by "
        "label_index and text_index",
        kWho));
  if (c_.label_col.empty() && c_.text_col.empty() && c_.label_index == c_.text_index)
    throw data::DataError(
        fmt::format("{}: label_index and text_index are both {}: the label and the text need columns of their own",
                    kWho, c_.label_index));
  if (!c_.label_col.empty() && c_.label_col == c_.text_col)
    throw data::DataError(fmt::format("{}: label_col and text_col are both '{}'", kWho, c_.label_col));
  if (ctx.rng == nullptr) throw data::DataError(fmt::format("{}: no data Rng in the context", kWho));
  rng_ = ctx.rng->fork(0x7e47);
  path_ = data::existing_file(c_.path, ctx.base_dir, "path");
  if (!c_.test_path.empty()) test_path_ = data::existing_file(c_.test_path, ctx.base_dir, "test_path");
}

data::Table TextDataset::load(data::DataReport& report) {
  data::Table t;
  t.columns.resize(2);
  t.columns[0].name = "label";
  t.columns[1].name = "text";
  auto& labels = t.columns[0].str;
  auto& texts = t.columns[1].str;
  std::int64_t dropped = 0, blank = 0;
  std::string first_dropped;
  std::vector<std::string> fields;
  const Layout without_header = headerless(c_, delimiter_);
  auto read = [&](const std::string& path, std::uint8_t part) {
    std::optional<Layout> layout;  // every file has its own header
    if (!c_.header) layout = without_header;
    data::for_each_line(path, [&](std::int64_t line, std::string_view s) {
      if (line == 1 && s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
      if (trim(s).empty()) {
        ++blank;
        return true;
      }
      if (!layout) {
        layout = from_header(c_, delimiter_, s, fmt::format("{}:{}", path, line));
        report.lines.push_back(fmt::format("text: {}:{}: header; label = {} (field {}), text = field {}{}", path, line,
                                           layout->label_name, layout->label, layout->text,
                                           layout->text_rest ? " to the end of the line" : ""));
        return true;
      }
      const Layout& l = *layout;
      data::split_fields(s, delimiter_, 0, false, fields);  // no quoting: quotes are ordinary characters
      const std::string_view label = fields.size() > l.label ? trim(fields[l.label]) : std::string_view{};
      std::string problem;
      if (fields.size() < l.fields || (l.exact && fields.size() > l.fields))
        problem = fmt::format("expected {}, found {}", l.shape, fields.size());
      else if (label.empty())
        problem = fmt::format("empty label ({})", l.label_name);
      if (!problem.empty()) {
        const std::string where = fmt::format("{}:{}", path, line);
        if (c_.on_error == "fail") throw data::DataError(fmt::format("{}: {}", where, problem));
        if (dropped++ == 0) first_dropped = where;
        return true;
      }
      labels.emplace_back(label);
      if (l.text_rest) {  // the last column runs to the end of the line: a text may hold the delimiter
        std::size_t at = 0;
        for (std::size_t i = 0; i < l.text; ++i) at += fields[i].size() + 1;
        texts.emplace_back(s.substr(at));
      } else {
        texts.push_back(std::move(fields[l.text]));
      }
      t.line.push_back(line);
      if (!test_path_.empty()) t.part.push_back(part);
      return true;
    });
  };
  read(path_, 0);
  t.source = path_;
  if (!test_path_.empty()) {
    read(test_path_, 1);
    t.source += ", " + test_path_;
  }
  if (t.rows() == 0)
    throw data::DataError(fmt::format("{}: no rows in {}{}", kWho, t.source, c_.header ? " after the header" : ""));
  report.lines.push_back(fmt::format("text: {} rows from {}", t.rows(), t.source));
  if (dropped > 0)
    report.warn(fmt::format("text: {} malformed lines dropped (on_error: drop; first: {})", dropped, first_dropped));
  if (blank > 0) report.lines.push_back(fmt::format("text: {} blank lines skipped", blank));
  return t;
}

data::Built TextDataset::build(data::Table table, data::DataReport& report) {
  const auto& labels = find_column(table, "label");
  const auto& texts = find_column(table, "text");
  if (labels.numeric || texts.numeric)
    throw data::DataError(fmt::format("{}: columns 'label' and 'text' must be text columns", kWho));
  const std::int64_t n = table.rows();
  const bool has_part = !table.part.empty();
  auto where = [&](std::int64_t row) {
    const bool test = has_part && table.part[static_cast<std::size_t>(row)] == 1;
    return fmt::format("{}:{}", test ? test_path_ : path_,
                       table.line.empty() ? row + 1 : table.line[static_cast<std::size_t>(row)]);
  };
  for (std::int64_t i = 0; i < n; ++i)
    if (labels.str[static_cast<std::size_t>(i)].empty())
      throw data::DataError(fmt::format("{}: empty label", where(i)));

  data::Built b;
  const std::uint64_t seed = c_.seed ? static_cast<std::uint64_t>(*c_.seed) : rng_.fork(1).next_u64();
  if (has_part) {
    std::vector<std::int64_t> first;
    for (std::int64_t i = 0; i < n; ++i)
      (table.part[static_cast<std::size_t>(i)] == 0 ? first : b.splits.test).push_back(i);
    carve(first, c_.valid_ratio, seed, b.splits);
    b.protocol = fmt::format("test file; valid {:g} of the training file, seed {}", c_.valid_ratio, seed);
    b.test_file = test_path_;
  } else {
    b.splits = data::random_split(n, c_.train_ratio, c_.valid_ratio, seed, kWho);
    b.protocol = fmt::format("random {:g}/{:g}/{:g} seed {}", c_.train_ratio, c_.valid_ratio,
                             1.0 - c_.train_ratio - c_.valid_ratio, seed);
  }
  if (b.splits.train.empty())
    throw data::DataError(fmt::format("{}: the training split of {} is empty ({} rows)", kWho, table.source, n));

  data::WordCounter counter;
  for (const auto i : b.splits.train) counter.add_text(texts.str[static_cast<std::size_t>(i)], c_.lowercase);
  const auto vocab = data::Vocabulary::build(counter, c_.min_count, c_.max_size);

  auto& ex = b.examples;
  ex.vocab = vocab.size();
  ex.token_names.reserve(static_cast<std::size_t>(ex.vocab));  // stored with the trial: heatmaps show words
  for (std::int64_t id = 0; id < ex.vocab; ++id) ex.token_names.push_back(vocab.word(id));
  ex.begin.resize(static_cast<std::size_t>(n));
  ex.end.resize(static_cast<std::size_t>(n));
  std::vector<std::int64_t> oov(static_cast<std::size_t>(n)), words(static_cast<std::size_t>(n));
  std::int64_t wordless = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ex.begin[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(ex.tokens.size());
    oov[static_cast<std::size_t>(i)] = vocab.encode(texts.str[static_cast<std::size_t>(i)], c_.lowercase, ex.tokens);
    words[static_cast<std::size_t>(i)] =
        static_cast<std::int64_t>(ex.tokens.size()) - ex.begin[static_cast<std::size_t>(i)];
    if (words[static_cast<std::size_t>(i)] == 0) {
      ex.tokens.push_back(data::Vocabulary::kUnknown);
      ++wordless;
    }
    ex.end[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(ex.tokens.size());
  }

  std::map<std::string, std::int64_t> counts;  // sorted: the class order
  for (const auto& l : labels.str) ++counts[l];
  data::LabelColumn label;
  label.task = c_.task;
  if (c_.kind == "class") {
    label.kind = data::LabelKind::kClass;
    std::map<std::string, std::int64_t> id;
    for (const auto& [name, count] : counts) {
      id.emplace(name, label.classes++);
      label.class_names.push_back(name);
    }
    label.ids.reserve(static_cast<std::size_t>(n));
    for (const auto& l : labels.str) label.ids.push_back(id.at(l));
  } else {
    if (!counts.contains(c_.positive)) {
      std::vector<std::string> seen;
      for (const auto& [name, count] : counts) seen.push_back(name);
      throw data::DataError(fmt::format("{}: positive label '{}' is not a label of any row of {}; labels: {}", kWho,
                                        c_.positive, table.source, core::join_names(seen)));
    }
    label.kind = data::LabelKind::kBinary;
    label.values.reserve(static_cast<std::size_t>(n));
    for (const auto& l : labels.str) label.values.push_back(l == c_.positive ? 1.0f : 0.0f);
  }
  ex.labels.push_back(std::move(label));

  std::vector<std::string> label_counts;
  for (const auto& [name, count] : counts) label_counts.push_back(fmt::format("{} {}", name, count));
  report.lines.push_back(fmt::format("text: {} texts ({}); splits train {}, valid {}, test {} ({})", n,
                                     core::join_names(label_counts), b.splits.train.size(), b.splits.valid.size(),
                                     b.splits.test.size(), b.protocol));
  auto rate = [&](const std::vector<std::int64_t>& rows) {
    std::int64_t o = 0, w = 0;
    for (const auto i : rows) {
      o += oov[static_cast<std::size_t>(i)];
      w += words[static_cast<std::size_t>(i)];
    }
    return w == 0 ? 0.0 : 100.0 * static_cast<double>(o) / static_cast<double>(w);
  };
  report.lines.push_back(fmt::format(
      "text: vocabulary {} words (+ padding, OOV) of {} distinct training words (min_count {}, max_size {}); "
      "OOV rate train {:.2f}%, valid {:.2f}%, test {:.2f}%",
      vocab.size() - 2, counter.distinct(), c_.min_count, c_.max_size, rate(b.splits.train), rate(b.splits.valid),
      rate(b.splits.test)));
  if (wordless > 0) report.lines.push_back(fmt::format("text: {} texts without any word got one OOV token", wordless));
  return b;
}

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::data::Dataset, text, attnlab::plugins::TextDataset, attnlab::plugins::TextConfig,
    "labelled texts, one per line: `label<TAB>text` (SMS spam format) or named columns of a delimited file, "
    "tokenized with a train-only vocabulary");
