#include "framework/data/reader.h"

#include "framework/core/suggest.h"
#include "framework/data/text_file.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace attnlab::data {

OnError on_error_from(const std::string& text, const std::string& who) {
  if (text == "fail") return OnError::kFail;
  if (text == "drop") return OnError::kDrop;
  throw DataError(fmt::format("{}: on_error '{}' is not one of: fail, drop", who, text));
}

char quote_from(const std::string& text, const std::string& who) {
  if (text.empty()) return 0;
  if (text.size() == 1) return text[0];
  throw DataError(fmt::format("{}: quote '{}' is not one character or ''", who, text));
}

std::string cell_text(const Column& c, std::int64_t row) {
  const auto r = static_cast<std::size_t>(row);
  if (!c.numeric) return c.str[r];
  return std::isnan(c.num[r]) ? std::string() : fmt::format("{}", c.num[r]);
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Splits one line into views. Lines holding the quote character go through split_fields (which
// unquotes into `storage`); the rest are split in place, which is what keeps large files fast.
class Splitter {
 public:
  explicit Splitter(const ReadOptions& o) : quote_(o.quote), trim_(o.trim) {
    if (o.delimiter == "whitespace") {
      whitespace_ = true;
    } else if (o.delimiter == "tab" || o.delimiter == "\t") {
      delim_ = '\t';
    } else if (o.delimiter.size() == 1) {
      delim_ = o.delimiter[0];
    } else {
      throw DataError(
          fmt::format("{}: delimiter '{}' is not one character, 'tab' or 'whitespace'", o.path, o.delimiter));
    }
    if (!whitespace_ && quote_ != 0 && quote_ == delim_)
      throw DataError(fmt::format("{}: the quote character and the delimiter are both '{}'", o.path, delim_));
  }

  bool split(std::string_view line, std::vector<std::string_view>& out, std::string& error) {
    out.clear();
    if (whitespace_) {
      std::size_t i = 0;
      while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        if (i == line.size()) break;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) ++i;
        out.push_back(line.substr(start, i - start));
      }
      return true;
    }
    if (quote_ != 0 && line.find(quote_) != std::string_view::npos) {
      if (!split_fields(line, delim_, quote_, trim_, storage_, &error)) return false;
      for (const auto& f : storage_) out.emplace_back(f);
      return true;
    }
    std::size_t start = 0;
    for (;;) {
      const auto* hit = static_cast<const char*>(std::memchr(line.data() + start, delim_, line.size() - start));
      const std::size_t stop = hit ? static_cast<std::size_t>(hit - line.data()) : line.size();
      std::string_view f = line.substr(start, stop - start);
      if (trim_) {
        while (!f.empty() && is_blank(f.front())) f.remove_prefix(1);
        while (!f.empty() && is_blank(f.back())) f.remove_suffix(1);
      }
      out.push_back(f);
      if (!hit) return true;
      start = stop + 1;
    }
  }

 private:
  char delim_ = ',';
  bool whitespace_ = false;
  char quote_;
  bool trim_;
  std::vector<std::string> storage_;
};

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct Kept {
  std::size_t field;  // index in the file's fields
  bool numeric;
};

}  // namespace

Table read_table(const ReadOptions& o, DataReport& report) {
  Splitter splitter(o);
  if (!o.header && o.names.empty())
    throw DataError(fmt::format("{}: header is false but no column names are given", o.path));
  Table t;
  t.source = o.path;
  std::vector<std::string> names;  // the file's columns
  std::vector<Kept> kept;
  std::vector<std::string_view> fields;
  std::string error;
  std::vector<double> row_num;
  std::int64_t dropped = 0;
  std::string first_drop;
  bool have_header = false;

  auto is_missing = [&o](std::string_view f) {
    for (const auto& m : o.missing)
      if (f == m) return true;
    return false;
  };

  // Fixes the file's column names and which of them are kept (after the header, or at once).
  // `where`: "FILE:LINE" of the header, or FILE when the names are given.
  auto setup = [&](std::vector<std::string> file_names, const std::string& where) {
    names = std::move(file_names);
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (names[i] == names[j])
          throw DataError(fmt::format("{}: column '{}' appears twice; columns: {}", where, core::printable(names[i]),
                                      core::join_names(names)));
    auto index = [&](const std::string& name, const char* list) {
      for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return i;
      throw DataError(fmt::format("{}: column '{}' (in {}) does not exist; columns: {}", where, name, list,
                                  core::join_names(names)));
    };
    const std::vector<std::string>& want = o.keep.empty() ? names : o.keep;
    for (const auto& n : o.numeric) {
      index(n, "numeric");
      bool in = false;
      for (const auto& w : want) in = in || w == n;
      if (!in)
        throw DataError(fmt::format("{}: numeric column '{}' is not among the kept columns: {}", o.path, n,
                                    core::join_names(want)));
    }
    for (std::size_t k = 0; k < want.size(); ++k) {
      for (std::size_t j = 0; j < k; ++j)
        if (want[j] == want[k]) throw DataError(fmt::format("{}: column '{}' is kept twice", o.path, want[k]));
      Column c;
      c.name = want[k];
      for (const auto& n : o.numeric) c.numeric = c.numeric || n == c.name;
      kept.push_back({index(want[k], "keep"), c.numeric});
      t.columns.push_back(std::move(c));
    }
    row_num.resize(kept.size());
    have_header = true;
  };
  if (!o.header) setup(o.names, o.path);

  for_each_line(o.path, [&](std::int64_t number, std::string_view line) {
    if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // UTF-8 byte order mark
    if (!o.comment.empty() && line.starts_with(o.comment)) return true;
    bool blank = true;
    for (char c : line) blank = blank && is_blank(c);
    if (blank) return true;

    if (!splitter.split(line, fields, error)) {
      if (o.on_error == OnError::kFail || !have_header)
        throw DataError(fmt::format("{}:{}: {}", o.path, number, error));
      if (dropped++ == 0) first_drop = fmt::format("line {}: {}", number, error);
      return true;
    }
    if (!have_header) {
      std::vector<std::string> header(fields.begin(), fields.end());
      if (!o.names.empty()) {
        if (o.names.size() != header.size())
          throw DataError(fmt::format("{}:{}: the header has {} columns but {} names are given", o.path, number,
                                      header.size(), o.names.size()));
        header = o.names;
      }
      setup(std::move(header), fmt::format("{}:{}", o.path, number));
      return true;
    }
    // Validate the whole row before storing any of it, so that a dropped row leaves no trace.
    std::string why;
    if (fields.size() != names.size()) {
      why = fmt::format("expected {} fields, got {}", names.size(), fields.size());
    } else {
      for (std::size_t k = 0; k < kept.size() && why.empty(); ++k) {
        if (!kept[k].numeric) continue;
        const std::string_view f = fields[kept[k].field];
        if (is_missing(f)) {
          row_num[k] = std::numeric_limits<double>::quiet_NaN();
        } else if (auto v = parse_double(f); v && std::isfinite(*v)) {
          row_num[k] = *v;
        } else if (v) {  // "nan", "inf": a number only in name; missing values are spelt as `missing` says
          why = fmt::format("column '{}': '{}' is not a finite number (list it in `missing` to read it as missing)",
                            t.columns[k].name, f);
        } else {
          why = fmt::format("column '{}': '{}' is not a number", t.columns[k].name, f);
        }
      }
    }
    if (!why.empty()) {
      if (o.on_error == OnError::kFail) throw DataError(fmt::format("{}:{}: {}", o.path, number, why));
      if (dropped++ == 0) first_drop = fmt::format("line {}: {}", number, why);
      return true;
    }
    for (std::size_t k = 0; k < kept.size(); ++k) {
      if (kept[k].numeric) {
        t.columns[k].num.push_back(row_num[k]);
      } else {
        const std::string_view f = fields[kept[k].field];
        t.columns[k].str.emplace_back(is_missing(f) ? std::string_view() : f);
      }
    }
    t.line.push_back(number);
    return true;
  });
  if (!have_header) throw DataError(fmt::format("{}: no header line (the file is empty)", o.path));
  if (t.line.empty() && dropped > 0)
    throw DataError(fmt::format("{}: every row is malformed: {} dropped under on_error: drop (first: {})", o.path,
                                dropped, first_drop));
  if (t.line.empty())
    throw DataError(
        fmt::format("{}: {}", o.path, o.header ? "no rows after its header" : "no rows (the file is blank)"));
  if (dropped > 0)
    report.warn(fmt::format("{}: {} malformed row{} dropped (on_error: drop; first: {})", o.path, dropped,
                            dropped == 1 ? "" : "s", first_drop));
  return t;
}

Table read_table(const ReadOptions& o) {
  DataReport ignored;
  return read_table(o, ignored);
}

Table stack_parts(Table train, Table test) {
  if (train.columns.size() != test.columns.size())
    throw DataError(fmt::format("{} and {}: different columns ({} and {})", train.source, test.source,
                                train.columns.size(), test.columns.size()));
  for (std::size_t c = 0; c < train.columns.size(); ++c) {
    auto& a = train.columns[c];
    auto& b = test.columns[c];
    if (a.name != b.name || a.numeric != b.numeric)
      throw DataError(fmt::format("{} and {}: column {} is '{}' in one and '{}' in the other", train.source,
                                  test.source, c + 1, a.name, b.name));
    a.num.insert(a.num.end(), b.num.begin(), b.num.end());
    a.str.insert(a.str.end(), std::make_move_iterator(b.str.begin()), std::make_move_iterator(b.str.end()));
  }
  train.part.assign(train.line.size(), 0);
  train.part.resize(train.line.size() + test.line.size(), 1);
  train.line.insert(train.line.end(), test.line.begin(), test.line.end());
  train.source += " + " + test.source;
  return train;
}

}  // namespace attnlab::data
