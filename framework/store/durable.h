// Files that survive a crash whole or not at all: write a temporary file beside the target, fsync
// it, rename it over the target (atomic on POSIX), fsync the directory so that the rename itself
// survives a power loss. Readers see the old file or the new one, never a half-written one.
//
//   write_durably(path, [&](const fs::path& temp) { ... write temp ... });  // one-shot files
//   publish(temp, final);                                                     // a long-lived temp
//
// The trial file (store/trial.h) is written for a whole trial as <id>.h5.tmp and published at the
// end; the checkpoint and the sweep index are written with write_durably.
#pragma once

#include <filesystem>
#include <system_error>
#include <utility>

namespace attnlab::store {

/// fsync()s a file (or a directory) by path. Throws StoreError naming the path and errno's text.
void fsync_path(const std::filesystem::path& path);

/// fsync(temp), rename(temp, final) replacing final, fsync(final's directory). Throws StoreError.
void publish(const std::filesystem::path& temp, const std::filesystem::path& final);

/// Calls write(temp) for temp = path + ".tmp", then publishes temp as path. When write or the
/// publishing throws, the temporary file is removed and the exception passes on; path is untouched.
template <class Write>
void write_durably(const std::filesystem::path& path, Write&& write) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  try {
    std::forward<Write>(write)(std::as_const(temp));
    publish(temp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
}

}  // namespace attnlab::store
