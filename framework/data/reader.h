// Reading delimited text files (CSV, TSV, whitespace-separated; plain or gzip) into a Table.
//
//   ReadOptions o;
//   o.path = "ratings.tsv.gz";  o.delimiter = "\t";
//   o.keep = {"userId", "movieId", "timestamp"};  o.numeric = {"timestamp"};
//   Table t = read_table(o, report);           // 3 columns, one row per data line
//
// Only the columns in `keep` are materialised (others are split past and dropped at once), numeric
// columns are parsed with std::from_chars, and lines come from for_each_line (text_file.h): 1M rows
// of a 5-column TSV (4 kept, 2 numeric) read in 0.2–0.4 s, plain or gzipped (one core).
//
// Lines: blank lines (only spaces/tabs) and lines starting with `comment` are skipped, but keep
// their numbers: Table::line holds each row's 1-based line in the file, for messages.
//
// Errors (all DataError, each saying where):
//   "<path>: cannot open: No such file or directory"              missing or unreadable file
//   "<path>: no header line (the file is empty)"                  header = true on an empty file
//   "<path>: column 'x' (in keep) does not exist; columns: a, b"   a requested column is absent
//   "<path>:<line>: expected 7 fields, got 5"                     malformed row, on_error = fail
//   "<path>:<line>: column 'rating': 'abc' is not a number"       malformed row, on_error = fail
// With on_error = drop, malformed rows are skipped and counted in the report:
//   "<path>: 3 malformed rows dropped (first: line 17: expected 5 fields, got 4)"
#pragma once

#include "framework/data/examples.h"

#include <string>
#include <vector>

namespace attnlab::data {

/// What to do with a malformed row (wrong field count, a non-number in a numeric column, an
/// unterminated quote).
enum class OnError { kFail, kDrop };
/// "fail" / "drop"; anything else throws DataError naming `who` and the choices.
OnError on_error_from(const std::string& text, const std::string& who);

struct ReadOptions {
  std::string path;
  /// One character (",", "\t", ";", "|", " "), "tab" (= "\t"), or "whitespace": fields separated by
  /// runs of spaces and tabs, leading and trailing blanks ignored (quotes are then not special).
  std::string delimiter = ",";
  /// true: the first data line names the columns (unless `names` is given, which then replaces
  /// the header's names; counts must agree). false: `names` names the columns (required).
  bool header = true;
  std::vector<std::string> names{};
  char quote = '"';                    ///< 0: no quoting
  bool trim = true;                    ///< strip blanks around unquoted fields (UCI's ", " separators)
  std::string comment{};               ///< lines starting with this prefix are skipped ("" = none)
  std::vector<std::string> keep{};     ///< columns to materialise, in this order (empty = every column)
  std::vector<std::string> numeric{};  ///< columns parsed as double (each must be kept)
  /// Values meaning "missing" in any column: numeric → NaN, text → "" (Column::missing).
  std::vector<std::string> missing{"", "?", "NA"};
  OnError on_error = OnError::kFail;
};

/// Reads `o.path` into a Table (source = path, line = file line of each row, part empty). Throws
/// DataError as listed at the top of this file. Dropped rows (on_error = drop) add one line to
/// `report`; a file without any data rows gives a Table with 0 rows (the caller decides whether
/// that is an error).
Table read_table(const ReadOptions& o, DataReport& report);
Table read_table(const ReadOptions& o);  ///< the same, but a dropped-rows summary is discarded

/// A quote option from a config string: "" gives 0 (no quoting), one character gives it; anything
/// else throws DataError naming `who`.
char quote_from(const std::string& text, const std::string& who);

/// A cell as text: a text column's value, or a numeric one formatted ("3", "2.5"); "" when missing.
std::string cell_text(const Column& c, std::int64_t row);

/// The rows of `train` followed by those of `test`, with part = 0 / 1 (source "train_src + test_src").
/// Both must have the same columns in the same order and types; throws DataError otherwise.
Table stack_parts(Table train, Table test);

}  // namespace attnlab::data
