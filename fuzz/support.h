// What every libFuzzer target of fuzz/ shares.
//
// The rule of every target: attnlab's own errors (attnlab::Error and what derives from it:
// config::ConfigError, config::PathError, data::DataError, ...) are the expected answer to bad input
// and are swallowed by expect_errors(). Anything else is a finding that libFuzzer reports with the
// input that caused it: a crash or a sanitizer report (ASan, UBSan), another exception escaping
// (std::out_of_range, YAML::Exception, std::bad_alloc: "uncaught exception", then abort), a broken
// invariant (FUZZ_CHECK), a leak, an input running longer than -timeout, or memory beyond -rss_limit_mb.
//
// Inputs reach the readers as files (the readers take paths), in a directory of this process's own.
#pragma once

#include "framework/core/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attnlab::fuzz {

/// A directory of this process's own (under $TMPDIR, else /tmp), removed at exit.
const std::string& work_dir();

/// Writes `bytes` to work_dir()/name, gzip-compressed when `gzip`; returns the file's path.
std::string write_input(const std::string& name, std::string_view bytes, bool gzip = false);

/// The first byte of an input (its options: which config, gzip or not) and the rest (a file's content).
struct Input {
  std::uint8_t options = 0;
  std::string_view rest;
};
inline Input split_options(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  return {data[0], std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

/// Runs fn, swallowing attnlab::Error (the documented answer to bad input); every other exception escapes.
template <class F>
void expect_errors(F&& fn) {
  try {
    fn();
  } catch (const attnlab::Error&) {}
}

/// Reports a broken invariant with the input's position in the target and aborts (a libFuzzer crash).
[[noreturn]] void check_failed(const char* condition, const char* file, int line);

}  // namespace attnlab::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::attnlab::fuzz::check_failed(#condition, __FILE__, __LINE__))

namespace attnlab::fuzz {

/// A data target's choice of config: a dataset plugin's map and preprocessing steps, in YAML flow
/// syntax, naming the files the target writes into work_dir() (relative paths).
struct DatasetCase {
  std::string dataset;
  std::vector<std::string> steps{};
};

/// Runs a trial's data pipeline (data::prepare_data: load, row steps, build, checks, example steps)
/// on `c` with work_dir() as the spec's directory, and checks what it promises of a success. The
/// case itself must bind (a target's own mistake is not swallowed).
void prepare(const DatasetCase& c);

}  // namespace attnlab::fuzz
