// Loading plugins from shared libraries built outside the source tree (examples/plugins/hello_attention).
//
// A plugin library is a MODULE library compiled against the installed attnlab headers
// (find_package(attnlab) -> attnlab::plugin) that links no attnlab code: the host executable is
// linked with ENABLE_EXPORTS, so the library's references to framework functions and to the
// registry singletons resolve to the host's when it is loaded. Its ATTNLAB_REGISTER_PLUGIN lines
// run inside dlopen and add its plugins to the host's registries.
//
// Load libraries before any trial starts (the registries are read without locks afterwards).
// Libraries are never unloaded: the registries keep pointers into their code.
//
// A plugin library must be built with the same compiler and the same attnlab headers as the host
// (the package version file asks for the exact version). It must not be compiled with
// -fvisibility=hidden or linked with -Bsymbolic, which would give it registries of its own.
#pragma once

#include <string>
#include <vector>

namespace attnlab::registry {

/// A plugin that a library added: "attention/hello".
struct LoadedPlugin {
  std::string family, name;
  std::string str() const { return family + "/" + name; }
  friend bool operator==(const LoadedPlugin&, const LoadedPlugin&) = default;
};

/// Loads the shared library at `path` (a file path, relative to the working directory unless
/// absolute; dlopen with RTLD_NOW | RTLD_GLOBAL) and returns the plugins it registered, sorted.
/// Loading a library already loaded (by the same canonical path) is a no-op returning nothing.
/// Throws attnlab::Error with dlerror()'s text for a missing or unreadable file, a file that is
/// not a shared library, or an unresolved symbol (e.g. a library built against other headers).
/// Throws attnlab::Error listing the problems when registrations failed (a name already
/// registered, naming both origins) or landed in a registry the host does not see (a host
/// executable built without ENABLE_EXPORTS); the library then stays loaded and loading it again
/// throws the same error.
std::vector<LoadedPlugin> load_plugin_library(const std::string& path);

/// The canonical paths of the libraries loaded so far, in load order.
std::vector<std::string> loaded_plugin_libraries();

}  // namespace attnlab::registry
