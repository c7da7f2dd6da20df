#include "framework/experiment/plugin_trust.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace attnlab::experiment {

namespace fs = std::filesystem;

namespace {

/// Absolute, `..` and every symlink of the existing part resolved (a missing file keeps its name).
std::string canonical_path(const fs::path& p) {
  std::error_code ec;
  const fs::path abs = fs::absolute(p, ec);
  if (ec) return p.lexically_normal().string();
  const fs::path c = fs::weakly_canonical(abs, ec);
  return (ec ? abs.lexically_normal() : c).string();
}

/// The canonical directory of the spec file as named (relative paths in the spec resolve against it).
std::string spec_directory(const std::string& spec_path) {
  return canonical_path(fs::absolute(spec_path).parent_path());
}

std::string working_directory() {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  return ec ? std::string() : canonical_path(cwd);
}

}  // namespace

bool lies_inside(const std::string& path, const std::string& dir) {
  const fs::path d(dir), p(path);
  if (dir.empty() || d == d.root_path()) return false;
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
    if (di->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *di) return false;
  }
  return pi != p.end();  // the directory itself is not a library inside it
}

std::string PluginLibrary::reason() const {
  switch (verdict) {
    case PluginVerdict::command_line:
      if (key == "--plugin") return "given by --plugin";
      if (mark.from_command_line()) return "named by an override on the command line";
      return "also given by --plugin";
    case PluginVerdict::spec_directory:
      return fmt::format("inside the spec's directory {}", root);
    case PluginVerdict::working_directory:
      return fmt::format("inside the working directory {}", root);
    case PluginVerdict::allowed:
      return "allowed by --allow-spec-plugins";
    case PluginVerdict::refused:
      break;
  }
  return "refused";
}

std::string PluginLibrary::str() const {
  const std::string where = mark.file ? fmt::format("{} at {}", key, mark.str()) : key;
  return fmt::format("{}  ({}; {}{})", path, where, trusted() ? "trusted: " : "", reason());
}

PluginLibrary judge_spec_library(const std::string& named, const config::Mark& mark, const std::string& key,
                                 const std::string& spec_path, const PluginTrust& trust) {
  PluginLibrary lib{.named = named, .mark = mark, .key = key};
  fs::path p(named);
  if (p.is_relative()) p = fs::path(spec_path).parent_path() / p;
  lib.path = canonical_path(p);
  const auto given = [&] {
    return std::any_of(trust.libraries.begin(), trust.libraries.end(),
                       [&](const std::string& l) { return canonical_path(l) == lib.path; });
  };
  if (mark.from_command_line() || given()) {
    lib.verdict = PluginVerdict::command_line;
  } else if (const std::string dir = spec_directory(spec_path); lies_inside(lib.path, dir)) {
    lib.verdict = PluginVerdict::spec_directory;
    lib.root = dir;
  } else if (const std::string cwd = working_directory(); lies_inside(lib.path, cwd)) {
    lib.verdict = PluginVerdict::working_directory;
    lib.root = cwd;
  } else if (trust.allow_spec_plugins) {
    lib.verdict = PluginVerdict::allowed;
  }
  return lib;
}

std::string refusal_message(const PluginLibrary& lib, const std::string& spec_path) {
  const std::string dir = spec_directory(spec_path), cwd = working_directory();
  const std::string outside = dir == cwd
                                  ? fmt::format("the spec's directory and working directory {}", dir)
                                  : fmt::format("the spec's directory {} and the working directory {}", dir, cwd);
  return fmt::format(
      "refusing to load plugin library '{}'{}: it lies outside {}, and loading a library runs its code; give it with "
      "--plugin {} or allow the libraries the spec names with --allow-spec-plugins",
      lib.path, lib.named == lib.path ? "" : fmt::format(" (named '{}')", lib.named), outside, lib.path);
}

}  // namespace attnlab::experiment
