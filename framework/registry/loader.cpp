#include "framework/registry/loader.h"

#include "framework/registry/registry.h"

#include <fmt/format.h>

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

namespace attnlab::registry {

const FamilyInfo* find_family(std::string_view name) {
  for (const auto& f : families())
    if (f.name == name) return &f;
  return nullptr;
}

namespace {

struct Loaded {
  std::string path;
  std::string error;  // non-empty: registrations failed; loading again rethrows
};

std::mutex& loader_mutex() {
  static std::mutex m;
  return m;
}

std::vector<Loaded>& loaded() {
  static std::vector<Loaded> l;
  return l;
}

}  // namespace

std::vector<LoadedPlugin> load_plugin_library(const std::string& path) {
  std::lock_guard lock(loader_mutex());
  // weakly_canonical resolves symlinks, so one library reached by two paths is loaded once.
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec).string();
  if (ec) canonical = std::filesystem::absolute(path).lexically_normal().string();
  for (const auto& l : loaded()) {
    if (l.path != canonical) continue;
    if (!l.error.empty()) throw Error(l.error);
    return {};
  }

  detail::LoadContext ctx{canonical, {}, {}};
  detail::current_load() = &ctx;
  void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_GLOBAL);
  detail::current_load() = nullptr;
  if (!handle) {
    const char* e = dlerror();
    const std::string why = e ? e : "unknown dlopen error";
    // The usual cause: a library built against other attnlab headers, or a host without exported symbols.
    const char* hint =
        why.find("undefined symbol") == std::string::npos
            ? ""
            : " (a plugin library must be built against this attnlab's headers and loaded by an executable "
              "linked with ENABLE_EXPORTS)";
    throw Error(fmt::format("cannot load plugin library '{}': {}{}", path, why, hint));
  }

  std::vector<LoadedPlugin> added;
  for (const auto& [family, name] : ctx.added) {
    const FamilyInfo* f = find_family(family);
    const auto names = f ? f->names() : std::vector<std::string>{};
    if (std::find(names.begin(), names.end(), name) == names.end())
      ctx.errors.push_back(fmt::format(
          "{} plugin '{}' registered into a registry the host does not see "
          "(is the host executable linked with ENABLE_EXPORTS? is the family listed in registry::families()?)",
          family, name));
    else
      added.push_back({family, name});
  }
  std::string error;
  if (!ctx.errors.empty()) error = fmt::format("plugin library '{}': {}", path, fmt::join(ctx.errors, "; "));
  loaded().push_back({canonical, error});
  if (!error.empty()) throw Error(error);
  std::sort(added.begin(), added.end(), [](const auto& a, const auto& b) { return a.str() < b.str(); });
  return added;
}

std::vector<std::string> loaded_plugin_libraries() {
  std::lock_guard lock(loader_mutex());
  std::vector<std::string> r;
  for (const auto& l : loaded()) r.push_back(l.path);
  return r;
}

}  // namespace attnlab::registry
