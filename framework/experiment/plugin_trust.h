// Who may run code: the plugin libraries a command loads, and whether each may be loaded.
//
// Loading a plugin library runs its code with the user's rights, so a library is loaded only when
// the user chose it. The rule (README, "Plugin libraries: who may run code"):
//
//   - a library given on the command line is trusted: `--plugin lib.so`, or a `plugins=[...]`
//     override (the user typed it);
//   - a library a spec names (`plugins:` in the spec file or in any spec it includes) is trusted
//     when its canonical path (absolute, `..` and every symlink resolved) lies inside the canonical
//     directory of the spec file named on the command line, or inside the canonical working
//     directory; `/` never counts as such a directory;
//   - any other library a spec names is refused unless the user passes `--allow-spec-plugins` or
//     gives the same library (same canonical path) with `--plugin`.
//
// A refused library is a config problem at the file:line:col that names it (the spec or the
// included spec), with the resolved path and both ways to allow it. `validate`, `show`, `run`,
// `sweep` and every MPI rank decide through this one function, so `validate` says ok exactly when
// the run will load the same libraries. The decision never loads anything; load_experiment loads
// the libraries it trusts (framework/experiment/spec.h).
#pragma once

#include "framework/config/value.h"

#include <string>
#include <vector>

namespace attnlab::experiment {

/// What the user decided on the command line about plugin libraries.
struct PluginTrust {
  std::vector<std::string> libraries{};  ///< --plugin: loaded first, always trusted (relative to the working directory)
  bool allow_spec_plugins = false;       ///< --allow-spec-plugins: trust every library a spec names
};

/// Why a library may be loaded, or that it may not.
enum class PluginVerdict { command_line, spec_directory, working_directory, allowed, refused };

/// One plugin library, as named, with where it resolves and the verdict.
struct PluginLibrary {
  std::string named{};  ///< as written (a spec's relative path is relative to the spec file's directory)
  std::string path{};   ///< canonical path (weakly canonical when the file is missing)
  config::Mark mark{};  ///< where it is named: a spec's file:line:col, "<command line>:i:c", or no file for --plugin
  std::string key{};    ///< "plugins[0]", or "--plugin"
  PluginVerdict verdict = PluginVerdict::refused;
  std::string root{};  ///< the directory that makes it trusted (spec_directory, working_directory)
  bool trusted() const { return verdict != PluginVerdict::refused; }
  /// "given by --plugin", "inside the spec's directory /a/b", ..., "refused".
  std::string reason() const;
  /// "/abs/libx.so  (plugins[0] at spec.yaml:3:11; trusted: inside the spec's directory /a/b)"
  std::string str() const;
};

/// Decides on the library `named` (a spec's `plugins[i]` at `mark`, resolved against the directory
/// of the spec file `spec_path`). Never loads anything.
PluginLibrary judge_spec_library(const std::string& named, const config::Mark& mark, const std::string& key,
                                 const std::string& spec_path, const PluginTrust& trust);

/// The problem message of a refused library: the resolved path, the directories it lies outside,
/// and the two ways to allow it.
std::string refusal_message(const PluginLibrary& lib, const std::string& spec_path);

/// True when canonical path `path` lies inside canonical directory `dir` (by whole components:
/// /a/bc is not inside /a/b). `dir` = "/" or empty never contains anything.
bool lies_inside(const std::string& path, const std::string& dir);

}  // namespace attnlab::experiment
