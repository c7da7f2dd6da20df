// Spec validation end to end: the corpus of broken specs in tests/data/broken_specs (each NAME.yaml
// with its exact expected messages in NAME.expected, `{dir}` standing for the corpus folder and
// `{any}` for text that grows with the project, such as the list of registered plugins), and
// every spec shipped under experiments/ validating cleanly.
#include <boost/test/unit_test.hpp>

#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "framework/experiment/tune.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

#include <fmt/ranges.h>

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

// ---- overrides as Hydra users type them ------------------------------------------------------

const char* kSmallSpec = R"(name: small
data:
  task: click
  dataset: {type: synthetic, num_items: 50, num_users: 20, seq_len: 8, sequences: 200, tasks: [click]}
model:
  embedding: 16
  extractor: {type: lstm, hidden: 16}
  attention: {type: multi_head, num_heads: 4}
  pooling: {type: mean}
  head: {type: binary}
train: {epochs: 1}
)";

struct SmallSpec {
  testing::TempDir dir{"spec_overrides"};
  std::string path = (dir.path / "small.yaml").string();
  explicit SmallSpec(const std::string& extra = "") { std::ofstream(path) << kSmallSpec << extra; }
};

BOOST_AUTO_TEST_CASE(any_key_of_the_schema_is_overridden_without_plus) {
  SmallSpec s;
  // Defaults the file does not write: a train field, a plugin parameter, an absent optional.
  const auto r = experiment::load_experiment(s.path, {"train.clip_norm=1.0", "model.extractor.layers=2"});
  BOOST_TEST(r.spec.train.clip_norm == 1.0);
  BOOST_TEST(config::canonical(*r.resolved.find("model")->find("extractor")->find("layers")) == "2");
  // A misplaced key: the hint comes from the whole schema, on the command line and in the file.
  const auto msg = testing::error_of([&] { experiment::load_experiment(s.path, {"train.lr=0.1"}); });
  BOOST_TEST(msg.find("<command line>:1:7: override 'train.lr=0.1'") != std::string::npos, msg);
  BOOST_TEST(msg.find("did you mean 'train.optimizer.lr'?") != std::string::npos, msg);
  SmallSpec bad;
  std::ofstream(bad.path) << replace_all(kSmallSpec, "train: {epochs: 1}", "train: {epochs: 1, lr: 0.1}");
  const auto file_msg = testing::error_of([&] { experiment::load_experiment(bad.path, {}); });
  BOOST_TEST(file_msg.find("small.yaml:11:20: train.lr: unknown key 'lr'; did you mean 'train.optimizer.lr'?") !=
                 std::string::npos,
             file_msg);
}

BOOST_AUTO_TEST_CASE(another_plugin_type_drops_the_old_parameters) {
  SmallSpec s;
  // multi_head's num_heads would be rejected by additive if it were merged in.
  const auto r = experiment::load_experiment(s.path, {"model.attention.type=additive"});
  BOOST_TEST(r.spec.model.attention.type == "additive");
  // The type is applied first, so its parameters may come before it on the command line.
  const auto p = experiment::load_experiment(s.path, {"model.extractor.channels=8", "model.extractor.type=cnn"});
  BOOST_TEST(config::canonical(*p.resolved.find("model")->find("extractor")->find("channels")) == "8");
  // An including file that names another plugin replaces the node too.
  std::ofstream(s.dir.path / "child.yaml") << "include: small.yaml\nmodel:\n  attention: {type: scaled_dot}\n";
  const auto c = experiment::load_experiment((s.dir.path / "child.yaml").string(), {});
  BOOST_TEST(c.spec.model.attention.type == "scaled_dot");
}

BOOST_AUTO_TEST_CASE(comma_values_add_grid_axes_on_sweep_and_are_refused_on_run) {
  SmallSpec s;
  const auto r = experiment::load_experiment(s.path, {"model.attention.type=additive,scaled_dot", "train.seed=1,2"});
  BOOST_REQUIRE_EQUAL(r.trials.size(), 4u);
  BOOST_TEST(r.trials[0].trial.label() == "model.attention.type=additive train.seed=1");
  BOOST_TEST(r.trials[3].trial.label() == "model.attention.type=scaled_dot train.seed=2");
  const auto msg =
      testing::error_of([&] { experiment::load_experiment(s.path, {"train.seed=1,2"}, experiment::Multirun::refuse); });
  BOOST_TEST(msg.find("is a sweep (Hydra's multirun); run it with `attnlab sweep`") != std::string::npos, msg);
  // A dotted axis written as an override is one axis.
  const auto d = experiment::load_experiment(s.path, {"sweep.grid.model.attention.type=[additive, none]"});
  BOOST_REQUIRE_EQUAL(d.trials.size(), 2u);
  BOOST_TEST(d.trials[1].trial.label() == "model.attention.type=none");
}

BOOST_AUTO_TEST_CASE(an_override_of_a_swept_key_names_both) {
  SmallSpec s("sweep:\n  seeds: [1, 2]\n  grid:\n    model.attention: [{type: additive}, {type: none}]\n");
  const auto msg = testing::error_of([&] {
    experiment::load_experiment(s.path, {"train.seed=3", "model.attention.type=scaled_dot", "train.epochs=2"});
  });
  BOOST_TEST(msg.find("<command line>:1:1: override 'train.seed=3' sets 'train.seed', which the sweep axis "
                      "sweep.seeds (") != std::string::npos,
             msg);
  BOOST_TEST(msg.find("small.yaml:13:3) also sets") != std::string::npos, msg);
  BOOST_TEST(msg.find("override 'model.attention.type=scaled_dot' sets 'model.attention.type', which the sweep axis "
                      "sweep.grid.model.attention") != std::string::npos,
             msg);
  BOOST_TEST(msg.find("train.epochs") == std::string::npos, msg);  // not swept: fine
  const auto twice = testing::error_of([&] { experiment::load_experiment(s.path, {"train.seed=3,4"}); });
  BOOST_TEST(twice.find("which the sweep axis sweep.seeds") != std::string::npos, twice);
}

// ---- tune: objectives, Pareto fronts, conditional keys ---------------------------------------

BOOST_AUTO_TEST_CASE(a_tune_block_fills_in_its_objectives_pruner_and_conditions) {
  // Two objectives: the pruner defaults to none (Optuna cannot prune them), each its own direction.
  SmallSpec two(R"(eval: {metrics: [auc, logloss], select: auc}
tune:
  objective: [{metric: valid/auc}, {metric: valid/logloss}]
  timeout: 90
  space:
    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: transformer}, {type: transformer, dim: 32}]}
    model.extractor.num_heads: {choice: [1, 2], when: {model.extractor.type: [transformer]}}
    train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}
)");
  const auto r = experiment::load_experiment(two.path, {});
  BOOST_TEST_REQUIRE(r.tune.has_value());
  BOOST_TEST(*r.tune->pruner == "none");
  BOOST_TEST_REQUIRE(r.tune->objective.list.size() == 2u);
  BOOST_TEST(*r.tune->objective.list[0].direction == "maximize");
  BOOST_TEST(*r.tune->objective.list[1].direction == "minimize");
  BOOST_TEST(*r.tune->timeout == 90.0);
  // The conditional key: searched under the two transformer choices only.
  const auto& heads = r.tune->space.at("model.extractor.num_heads");
  BOOST_TEST(heads.when_key == "model.extractor");
  BOOST_TEST(heads.when_choices == (std::vector<std::string>{"{type: transformer}", "{dim: 32, type: transformer}"}),
             fmt::format("{}", fmt::join(heads.when_choices, " | ")));
  experiment::TuneOptions o;
  o.spec = two.path;
  o.attnlab = "attnlab";
  o.dir = (two.dir.path / "t").string();
  const std::string plan = experiment::tune_plan(r, o);
  for (const char* want : {"objectives:\n  - metric: valid/auc\n    direction: maximize\n  - metric: valid/logloss\n",
                           "pruner: none", "timeout: 90", "when:\n      key: model.extractor\n"})
    BOOST_TEST(plan.find(want) != std::string::npos, want << " not in\n" << plan);

  // One objective, as the first slice wrote it: a map, the median pruner, another figure than select.
  SmallSpec one(R"(eval: {metrics: [auc, logloss, hr], ks: [5], select: auc}
tune:
  objective: {metric: valid/logloss}
  space: {train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}}
)");
  const auto s = experiment::load_experiment(one.path, {"tune.n_trials=3"});
  BOOST_TEST(*s.tune->pruner == "median");
  BOOST_TEST(*s.tune->objective.list.at(0).direction == "minimize");
  BOOST_TEST(s.tune->n_trials == 3);
  // hr is ranked: its figures carry the cut-off.
  const auto msg =
      testing::error_of([&] { experiment::load_experiment(one.path, {"tune.objective.metric=valid/hr"}); });
  BOOST_TEST(msg.find("tune.objective.metric: 'valid/hr' is not a validation figure") != std::string::npos, msg);
  BOOST_TEST(msg.find("did you mean 'valid/hr@5'?") != std::string::npos, msg);
}

BOOST_AUTO_TEST_SUITE_END()
