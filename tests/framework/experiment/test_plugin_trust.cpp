// Who may run code (framework/experiment/plugin_trust.h): which plugin libraries a spec may load.
// The decision is checked on files in a temporary tree (a library is judged by where it resolves,
// never loaded to decide); load_experiment's refusals are checked for their file:line and message.
// Loading real libraries through the attnlab executable is tests/python/test_plugin_trust.py's.
#include <boost/test/unit_test.hpp>

#include "framework/experiment/plugin_trust.h"
#include "framework/experiment/spec.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace attnlab;
using experiment::PluginTrust;
using experiment::PluginVerdict;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Runs in `dir` while alive (the working directory is part of the rule).
struct WorkingDir {
  fs::path before = fs::current_path();
  explicit WorkingDir(const fs::path& dir) { fs::current_path(dir); }
  ~WorkingDir() { fs::current_path(before); }
  WorkingDir(const WorkingDir&) = delete;
  WorkingDir& operator=(const WorkingDir&) = delete;
};

const char* kSpec = R"(name: trust
data:
  task: click
  dataset: {type: synthetic, num_items: 50, num_users: 20, seq_len: 8, sequences: 200, tasks: [click]}
model:
  embedding: 8
  extractor: {type: lstm, hidden: 8}
  pooling: {type: mean}
  head: {type: binary}
train: {epochs: 1}
)";

/// t/proj/spec.yaml with t/proj/lib/libin.so; t/other/libout.so outside; t/proj/lib/link.so a
/// symlink to the outside library, t/proj/escape a symlink to t/other; t/projlink a symlink to
/// t/proj; t/elsewhere an empty working directory. The libraries are empty files: judging never
/// loads, and loading one is a load error, not a refusal.
struct Tree {
  testing::TempDir t{"plugin_trust"};
  fs::path root = fs::canonical(t.path);
  fs::path proj = root / "proj", other = root / "other", elsewhere = root / "elsewhere";
  std::string spec = (proj / "spec.yaml").string();
  std::string in_lib = (proj / "lib" / "libin.so").string(), out_lib = (other / "libout.so").string();
  Tree() {
    for (const auto& d : {proj / "lib", other, elsewhere}) fs::create_directories(d);
    std::ofstream(in_lib) << "";
    std::ofstream(out_lib) << "";
    fs::create_symlink("../../other/libout.so", proj / "lib" / "link.so");
    fs::create_directory_symlink("../other", proj / "escape");
    fs::create_directory_symlink("proj", root / "projlink");
  }
  void write_spec(const std::string& extra, const std::string& path = "") const {
    std::ofstream(path.empty() ? spec : path) << extra << kSpec;
  }
  experiment::PluginLibrary judge(const std::string& named, const PluginTrust& trust = {},
                                  const std::string& spec_path = "") const {
    return experiment::judge_spec_library(named, {std::make_shared<const std::string>("spec.yaml"), 1, 11},
                                          "plugins[0]", spec_path.empty() ? spec : spec_path, trust);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_trust)

BOOST_AUTO_TEST_CASE(inside_is_by_whole_components) {
  BOOST_TEST(experiment::lies_inside("/a/b/c.so", "/a/b"));
  BOOST_TEST(experiment::lies_inside("/a/b/c/d.so", "/a/b/"));
  BOOST_TEST(!experiment::lies_inside("/a/bc/d.so", "/a/b"));
  BOOST_TEST(!experiment::lies_inside("/a/b", "/a/b"));
  BOOST_TEST(!experiment::lies_inside("/a/d.so", "/a/b"));
  BOOST_TEST(!experiment::lies_inside("/a/b.so", "/"));  // the root directory never makes a library trusted
  BOOST_TEST(!experiment::lies_inside("/a/b.so", ""));
}

BOOST_AUTO_TEST_CASE(a_library_inside_the_spec_directory_is_trusted_and_one_outside_refused) {
  Tree f;
  WorkingDir cwd(f.elsewhere);
  const auto in = f.judge("lib/libin.so");
  BOOST_TEST((in.verdict == PluginVerdict::spec_directory));
  BOOST_TEST(in.path == f.in_lib);
  BOOST_TEST(in.root == f.proj.string());
  BOOST_TEST(in.str() == f.in_lib + "  (plugins[0] at spec.yaml:1:11; trusted: inside the spec's directory " +
                             f.proj.string() + ")");
  BOOST_TEST((f.judge(f.in_lib).verdict == PluginVerdict::spec_directory));  // absolute, still inside
  BOOST_TEST((f.judge("lib/../lib/./libin.so").verdict == PluginVerdict::spec_directory));

  const auto out = f.judge("../other/libout.so");
  BOOST_TEST(!out.trusted());
  BOOST_TEST(out.path == f.out_lib);
  BOOST_TEST(out.str() == f.out_lib + "  (plugins[0] at spec.yaml:1:11; refused)");
  // `..` escapes and symlinks (to a file or a directory) are judged where they resolve.
  for (const char* named : {"lib/../../other/libout.so", "lib/link.so", "escape/libout.so"}) {
    const auto e = f.judge(named);
    BOOST_TEST(!e.trusted(), named);
    BOOST_TEST(e.path == f.out_lib, named);
  }
  // A missing library is judged by where it would be.
  BOOST_TEST(!f.judge("../other/missing.so").trusted());
  BOOST_TEST((f.judge("lib/missing.so").verdict == PluginVerdict::spec_directory));
}

BOOST_AUTO_TEST_CASE(the_spec_directory_is_canonical_and_the_working_directory_counts) {
  Tree f;
  {
    WorkingDir cwd(f.elsewhere);
    // The spec named through a symlinked directory: its tree is the real one.
    const auto via_link = f.judge("lib/libin.so", {}, (f.root / "projlink" / "spec.yaml").string());
    BOOST_TEST((via_link.verdict == PluginVerdict::spec_directory));
    BOOST_TEST(via_link.root == f.proj.string());
    BOOST_TEST(!f.judge("lib/link.so", {}, (f.root / "projlink" / "spec.yaml").string()).trusted());
  }
  {
    WorkingDir cwd(f.root);  // the outside library is under the working directory
    const auto out = f.judge("../other/libout.so");
    BOOST_TEST((out.verdict == PluginVerdict::working_directory));
    BOOST_TEST(out.root == f.root.string());
    BOOST_TEST(has(out.reason(), "inside the working directory " + f.root.string()));
  }
}

BOOST_AUTO_TEST_CASE(the_command_line_allows_a_library) {
  Tree f;
  WorkingDir cwd(f.elsewhere);
  PluginTrust given{.libraries = {"../other/libout.so"}};  // relative to the working directory
  const auto g = f.judge("lib/link.so", given);
  BOOST_TEST((g.verdict == PluginVerdict::command_line));
  BOOST_TEST(g.reason() == "also given by --plugin");
  BOOST_TEST(!f.judge("../other/libout.so", {.libraries = {"libout.so"}}).trusted());  // another file

  const auto allowed = f.judge("../other/libout.so", {.allow_spec_plugins = true});
  BOOST_TEST((allowed.verdict == PluginVerdict::allowed));
  BOOST_TEST(allowed.reason() == "allowed by --allow-spec-plugins");
  // The flag does not change why an inside library is trusted.
  BOOST_TEST((f.judge("lib/libin.so", {.allow_spec_plugins = true}).verdict == PluginVerdict::spec_directory));
}

BOOST_AUTO_TEST_CASE(load_experiment_refuses_at_the_line_that_names_the_library) {
  Tree f;
  WorkingDir cwd(f.elsewhere);
  f.write_spec("plugins: [lib/libin.so, ../other/libout.so]\n");
  const std::string msg = testing::error_of([&] { experiment::load_experiment(f.spec, {}); });
  BOOST_TEST(has(msg, f.spec + ":1:25: plugins[1]: refusing to load plugin library '" + f.out_lib +
                          "' (named '../other/libout.so'): it lies outside the spec's directory " + f.proj.string() +
                          " and the working directory " + f.elsewhere.string() +
                          ", and loading a library runs its code; give it with --plugin " + f.out_lib +
                          " or allow the libraries the spec names with --allow-spec-plugins"),
             msg);
  // The trusted one was loaded (an empty file: a load error at its own line, not a refusal).
  BOOST_TEST(has(msg, f.spec + ":1:11: plugins[0]: cannot load plugin library '" + f.in_lib + "'"), msg);
  BOOST_TEST(!has(msg, "plugins[0]: refusing"), msg);

  // Allowed: the outside library gets as far as loading.
  for (const PluginTrust& t : {PluginTrust{.allow_spec_plugins = true}, PluginTrust{.libraries = {f.out_lib}}}) {
    f.write_spec("plugins: [../other/libout.so]\n");
    const std::string allowed =
        testing::error_of([&] { experiment::load_experiment(f.spec, {}, experiment::Multirun::allow, t); });
    BOOST_TEST(has(allowed, "cannot load plugin library"), allowed);
    BOOST_TEST(!has(allowed, "refusing"), allowed);
  }
}

BOOST_AUTO_TEST_CASE(an_included_spec_is_named_in_the_refusal_and_an_override_is_trusted) {
  Tree f;
  WorkingDir cwd(f.elsewhere);
  const std::string base = (f.other / "base.yaml").string();
  std::ofstream(base) << "description: shared\nplugins: [" << f.out_lib << "]\n";
  f.write_spec("include: " + base + "\n");
  const std::string msg = testing::error_of([&] { experiment::load_experiment(f.spec, {}); });
  BOOST_TEST(has(msg, base + ":2:11: plugins[0]: refusing to load plugin library '" + f.out_lib + "':"), msg);

  // The same library typed on the command line is the user's choice.
  f.write_spec("");
  const std::string typed =
      testing::error_of([&] { experiment::load_experiment(f.spec, {"plugins=[../other/libout.so]"}); });
  BOOST_TEST(has(typed, "<command line>:1:10: plugins[0]: cannot load plugin library '" + f.out_lib + "'"), typed);
}

BOOST_AUTO_TEST_CASE(a_sweep_cannot_vary_the_libraries) {
  Tree f;
  WorkingDir cwd(f.elsewhere);
  f.write_spec("sweep: {grid: {plugins: [[lib/libin.so], []]}}\n");
  const std::string msg = testing::error_of([&] { experiment::load_experiment(f.spec, {}); });
  BOOST_TEST(has(msg, f.spec + ":1:16: sweep.grid.plugins: a sweep cannot vary plugins"), msg);
  f.write_spec("");
  const std::string typed =
      testing::error_of([&] { experiment::load_experiment(f.spec, {"sweep.grid.plugins=[[a.so],[b.so]]"}); });
  BOOST_TEST(has(typed, "a sweep cannot vary plugins"), typed);
}

BOOST_AUTO_TEST_SUITE_END()
