#include "framework/data/text_file.h"

#include "framework/config/value.h"
#include "framework/data/examples.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace attnlab::data {

void for_each_line(const std::string& path, const std::function<bool(std::int64_t, std::string_view)>& fn) {
  if (std::filesystem::is_directory(path)) throw DataError(fmt::format("{}: cannot open: it is a directory", path));
  // gzopen reads uncompressed files transparently.
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  gzbuffer(f, 1 << 17);
  // Lines are cut from gzread's blocks (gzgets would stop at a NUL byte and drop the rest of its line).
  std::vector<char> buf(1 << 16);
  std::string line;
  std::int64_t number = 0;
  auto emit = [&]() -> bool {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++number;
    if (const auto nul = line.find('\0'); nul != std::string::npos)
      throw DataError(
          fmt::format("{}:{}: a NUL byte at column {}: the file is damaged or not text", path, number, nul + 1));
    // A binary file (an image, an archive, a model) read as text would turn its bytes into column
    // names or labels: its first lines hold control bytes no text file has.
    if (number <= 8)
      for (std::size_t i = 0; i < line.size(); ++i)
        if (const auto c = static_cast<unsigned char>(line[i]); c < 0x20 && c != '\t' && c != '\r' && c != 0x1b)
          throw DataError(
              fmt::format("{}:{}: not a text file (byte 0x{:02x} at column {}); a data file here is "
                          "CSV/TSV or text, plain or gzip",
                          path, number, c, i + 1));
    const bool go_on = fn(number, line);
    line.clear();
    return go_on;
  };
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    int code = Z_OK;
    const char* msg = n < static_cast<int>(buf.size()) ? gzerror(f, &code) : "";
    // Z_BUF_ERROR: the gzip stream stopped before its end (a cut download or copy). The lines so far
    // are not the file: never train on them as if they were.
    if (code == Z_BUF_ERROR)
      throw DataError(
          fmt::format("{} is truncated: its gzip stream ends early, at compressed byte {} (after "
                      "{} complete lines); fetch or copy it again",
                      path, static_cast<long long>(gzoffset(f)), number));
    if (n < 0 || (code != Z_OK && code != Z_STREAM_END))
      throw DataError(fmt::format("{}:{}: cannot read: {}", path, number + 1, msg));
    std::size_t from = 0;
    const auto size = static_cast<std::size_t>(n);
    while (from < size) {
      const void* nl = std::memchr(buf.data() + from, '\n', size - from);
      const std::size_t to = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data()) : size;
      line.append(buf.data() + from, to - from);
      from = to;
      if (nl) {
        ++from;
        if (!emit()) return;
      }
    }
    if (n == 0) break;
  }
  if (!line.empty()) emit();  // a last line without its newline
}

bool split_fields(std::string_view line, char delimiter, char quote, bool trim, std::vector<std::string>& fields,
                  std::string* error) {
  fields.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  for (;;) {
    std::string field;
    std::size_t j = i;
    if (trim)
      while (j < n && blank(line[j]) && line[j] != delimiter) ++j;
    if (quote != 0 && j < n && line[j] == quote) {
      ++j;
      bool closed = false;
      while (j < n) {
        if (line[j] == quote) {
          if (j + 1 < n && line[j + 1] == quote) {
            field.push_back(quote);
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        field.push_back(line[j++]);
      }
      if (!closed) {
        if (error) *error = fmt::format("unterminated quote in field {}", fields.size() + 1);
        return false;
      }
      while (j < n && line[j] != delimiter) ++j;  // anything after the closing quote is ignored
    } else {
      const std::size_t start = i;
      while (j < n && line[j] != delimiter) ++j;
      std::string_view raw = line.substr(start, j - start);
      if (trim) {
        while (!raw.empty() && blank(raw.front())) raw.remove_prefix(1);
        while (!raw.empty() && blank(raw.back())) raw.remove_suffix(1);
      }
      field.assign(raw);
    }
    fields.push_back(std::move(field));
    if (j >= n) break;
    i = j + 1;
  }
  return true;
}

std::string existing_file(const std::string& path, const std::string& base_dir, const std::string& field) {
  std::string resolved = resolve_path(path, base_dir);
  std::error_code ec;
  if (std::filesystem::is_directory(resolved, ec))
    throw config::PathError(field, fmt::format("{} is a directory, not a data file", resolved));
  if (!std::filesystem::exists(resolved, ec))
    throw config::PathError(field, fmt::format("no such file: {}{}", resolved,
                                               std::filesystem::path(path).is_relative()
                                                   ? " (a relative path in a spec is relative to the spec's directory)"
                                                   : ""));
  return resolved;
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace attnlab::data
