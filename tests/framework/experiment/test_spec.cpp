// Spec validation end to end: the corpus of broken specs in tests/data/broken_specs (each NAME.yaml
// with its exact expected messages in NAME.expected, `{dir}` standing for the corpus folder and
// `{any}` for text that grows with the project, such as the list of registered plugins), and
// every spec shipped under experiments/ validating cleanly.
#include <boost/test/unit_test.hpp>

#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "tests/support/expect.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

const std::string kCorpus = std::string(ATTNLAB_TEST_DATA_DIR) + "/broken_specs";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t i = 0; (i = s.find(from, i)) != std::string::npos; i += to.size()) s.replace(i, from.size(), to);
  return s;
}

// Literal comparison, except that each `{any}` in `want` matches any run of characters.
bool matches(const std::string& got, const std::string& want) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t at = want.find("{any}", start);
    parts.push_back(want.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 5;
  }
  if (parts.size() == 1) return got == want;
  if (!got.starts_with(parts.front()) || !got.ends_with(parts.back())) return false;
  std::size_t pos = parts.front().size();
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    pos = got.find(parts[i], pos);
    if (pos == std::string::npos) return false;
    pos += parts[i].size();
  }
  return pos <= got.size() - parts.back().size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spec_validation)

BOOST_AUTO_TEST_CASE(every_broken_spec_reports_exactly_its_expected_problems) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".yaml") continue;
    const fs::path expected = fs::path(entry.path()).replace_extension(".expected");
    BOOST_TEST_CONTEXT(entry.path().filename().string()) {
      BOOST_TEST_REQUIRE(fs::exists(expected), "no .expected file beside the broken spec");
      const auto want = lines_of(replace_all(read(expected), "{dir}", kCorpus));
      try {
        const auto r = experiment::load_experiment(entry.path().string(), {});
        if (r.raw.find("sweep")) experiment::expand_sweep(r.raw, {});
        BOOST_TEST(false, "the spec was accepted");
      } catch (const config::ConfigError& e) {
        const auto got = lines_of(e.what());
        BOOST_TEST_REQUIRE(got.size() == want.size(), e.what());
        for (std::size_t i = 0; i < got.size(); ++i)
          BOOST_TEST(matches(got[i], want[i]), got[i] << "\n  expected " << want[i]);
      }
      ++checked;
    }
  }
  BOOST_TEST(checked >= 12);
}

BOOST_AUTO_TEST_CASE(bad_overrides_are_reported_together_with_their_position) {
  const std::string spec = std::string(ATTNLAB_PROJECT_DIR) + "/experiments/presets/seed.yaml";
  const auto msg = testing::error_of([&] { experiment::load_experiment(spec, {"train.epochz=3", "train.epochs=-1"}); });
  BOOST_TEST(msg.find("train.epochz") != std::string::npos, msg);
  BOOST_TEST(msg.find("did you mean 'train.epochs'") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(every_shipped_spec_validates) {
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(ATTNLAB_PROJECT_DIR) + "/experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    BOOST_TEST_CONTEXT(entry.path().string()) {
      try {
        const auto r = experiment::load_experiment(entry.path().string(), {});
        BOOST_TEST(r.hash.size() == 16u);
      } catch (const Error& e) {
        BOOST_TEST(false, e.what());
      }
      ++checked;
    }
  }
  BOOST_TEST(checked >= 2);
}

BOOST_AUTO_TEST_CASE(hash_ignores_key_order_and_formatting_and_overrides_change_it) {
  const std::string seed = std::string(ATTNLAB_PROJECT_DIR) + "/experiments/presets/seed.yaml";
  const auto a = experiment::load_experiment(seed, {});
  const auto b = experiment::load_experiment(seed, {"train.optimizer.lr=0.001", "train.epochs=10"});  // same values
  const auto c = experiment::load_experiment(seed, {"train.optimizer.lr=3e-4"});
  BOOST_TEST(a.hash == b.hash);
  BOOST_TEST(a.hash != c.hash);
}

BOOST_AUTO_TEST_CASE(ablation_sweep_expands_to_its_grid_with_stable_ids) {
  const std::string spec = std::string(ATTNLAB_PROJECT_DIR) + "/experiments/seed_ablation.yaml";
  const auto r = experiment::load_experiment(spec, {});
  auto resolve = [](const config::Value& t) { return experiment::resolve(t).resolved; };
  const auto t1 = experiment::expand_sweep(r.raw, resolve);
  const auto t2 = experiment::expand_sweep(experiment::load_experiment(spec, {}).raw, resolve);
  BOOST_TEST(t1.size() == 12u);
  for (std::size_t i = 0; i < t1.size(); ++i) BOOST_TEST(t1[i].id == t2[i].id);
  std::set<std::string> ids;
  for (const auto& t : t1) ids.insert(t.id);
  BOOST_TEST(ids.size() == 12u);
  // Loading resolved every trial once: the runner, validate and the dry run take them from there.
  BOOST_REQUIRE(r.trials.size() == t1.size());
  for (std::size_t i = 0; i < t1.size(); ++i) {
    BOOST_TEST(r.trials[i].trial.id == t1[i].id);
    BOOST_TEST(r.trials[i].trial.label() == t1[i].label());
    BOOST_TEST(r.trials[i].spec.hash.substr(0, 12) == t1[i].id);
    BOOST_TEST(r.trials[i].spec.base_dir == r.base_dir);
    BOOST_TEST(r.trials[i].spec.hash == experiment::resolve(t1[i].spec).hash);
  }
  // A spec without a sweep is its own single trial.
  const auto one = experiment::load_experiment(std::string(ATTNLAB_PROJECT_DIR) + "/experiments/presets/seed.yaml", {});
  BOOST_REQUIRE(one.trials.size() == 1u);
  BOOST_TEST(one.trials[0].spec.hash == one.hash);
  BOOST_TEST(one.trials[0].trial.id == one.hash.substr(0, 12));
}

BOOST_AUTO_TEST_SUITE_END()
