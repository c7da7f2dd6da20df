// A temporary directory for the files a test writes: created empty, removed (with its contents)
// when the object goes. Names are unique per process and object, so tests may run side by side.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace attnlab::testing {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view name) {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() / fmt::format("attnlab_{}_{}_{}", name, ::getpid(), counter++);
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace attnlab::testing
