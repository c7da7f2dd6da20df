// Reading text data files, plain or gzip-compressed (detected from the content, not the name),
// line by line with 1-based line numbers for error messages.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::data {

/// Calls fn(line_number, line) for every line of `path` (without the '\n' or a trailing '\r'),
/// stopping early when fn returns false. Throws DataError "<path>: cannot open: <reason>" for a
/// missing or unreadable file and "<path>:<line>: ..." when decompression fails mid-file.
void for_each_line(const std::string& path, const std::function<bool(std::int64_t, std::string_view)>& fn);

/// Splits a line into fields at `delimiter`. With quote != 0 a field may be quoted ("a, b"), a
/// doubled quote inside is a literal quote. Leading/trailing blanks of unquoted fields are trimmed
/// when `trim`. Returns false (and leaves a reason in *error) for an unterminated quote.
bool split_fields(std::string_view line, char delimiter, char quote, bool trim, std::vector<std::string>& fields,
                  std::string* error = nullptr);

/// `path` made absolute against `base_dir` when relative ("" keeps it relative to the cwd).
std::string resolve_path(const std::string& path, const std::string& base_dir);
/// resolve_path for a data file a dataset's config names in `field` ("path", "test_path"): throws
/// config::PathError(field, ...) when there is no such file, so the run reports the spec's line.
std::string existing_file(const std::string& path, const std::string& base_dir, const std::string& field);

}  // namespace attnlab::data
