// The spec loader, experiment::load_experiment, as `attnlab sweep` and `validate` call it: YAML text ->
// config::Value (yaml_read) -> includes and merges -> command-line overrides -> plugin binding through
// the registry -> sweep expansion, every trial resolved.
//
// Input: a spec file's text, optionally followed by a line starting with "%%" and one override per
// line after it ("train.epochs=3", "model.attention.type=additive,multi_head"); "%%run" loads it as
// `attnlab run` does (a comma list is refused, the sweep is left aside). The spec is written to
// <work dir>/specs/spec.yaml, next to a link to experiments/presets (so `include: presets/seed.yaml`
// and `include: ../presets/seed.yaml` resolve, as in experiments/).
//
// Checks on a spec that loads: the resolved tree and the raw one read back from their YAML
// (config::to_yaml) with the same canonical form, so `attnlab show` prints what a trial's id hashes.
#include "framework/config/value.h"
#include "framework/experiment/spec.h"
#include "fuzz/support.h"

#include <algorithm>
#include <filesystem>
#include <optional>

using namespace attnlab;

namespace {

const std::string& spec_path() {
  static const std::string path = [] {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(fuzz::work_dir()) / "specs";
    fs::create_directories(dir);
    const fs::path presets = fs::path(ATTNLAB_FUZZ_SOURCE_DIR) / "experiments" / "presets";
    fs::create_directory_symlink(presets, dir / "presets");
    fs::create_directory_symlink(presets, dir.parent_path() / "presets");
    return (dir / "spec.yaml").string();
  }();
  return path;
}

void round_trips(const config::Value& v) {
  const config::Value back = config::parse(config::to_yaml(v), "round trip");
  FUZZ_CHECK(back == v);
  FUZZ_CHECK(config::canonical(back) == config::canonical(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view spec = input;
  std::vector<std::string> overrides;
  auto multirun = experiment::Multirun::allow;
  if (const std::size_t at = input.starts_with("%%") ? 0 : input.find("\n%%"); at != std::string_view::npos) {
    spec = input.substr(0, at);
    std::string_view rest = input.substr(at == 0 ? 2 : at + 3);
    if (rest.starts_with("run")) multirun = experiment::Multirun::refuse;
    rest = rest.substr(std::min(rest.size(), rest.find('\n')));
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.size(), rest.find('\n'));
      if (end > 0) overrides.emplace_back(rest.substr(0, end));
      rest = rest.substr(std::min(rest.size(), end + 1));
    }
  }
  const std::string& path = spec_path();
  fuzz::write_input("specs/spec.yaml", spec);
  std::optional<experiment::ResolvedSpec> r;
  fuzz::expect_errors([&] { r = experiment::load_experiment(path, overrides, multirun); });
  if (r) {  // outside expect_errors: a ConfigError reading our own YAML back is a finding
    round_trips(r->raw);
    round_trips(r->resolved);
  }
  return 0;
}
