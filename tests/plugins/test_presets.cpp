// Every preset under experiments/presets, and every trial of every sweep under experiments/zoo,
// builds its model through the registry and trains one step on a small batch of its dataset: the
// shipped specs are runnable, not just valid YAML.
#include <boost/test/unit_test.hpp>

#include "framework/data/dataset.h"
#include "framework/experiment/model.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "framework/ops/ops.h"
#include "framework/optim/adam.h"
#include "framework/registry/registry.h"

#include <cmath>
#include <cstring>
#include <filesystem>

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

// Small datasets keep the tests fast; the structure of every stage is the spec's.
const std::vector<std::string> kSmall{"++data.dataset.train=16", "++data.dataset.valid=4", "++data.dataset.test=0"};

// Builds the spec's model and trains one Adam step; checks the losses are finite and parameters move.
void train_one_step(const experiment::ExperimentSpec& spec) {
  core::Rng rng(3);
  auto data = registry::create(spec.data.dataset, {.rng = &rng});
  data::DataReport report;
  const data::Built built = data->build(data->load(report), report);
  const auto& ex = built.examples;
  const std::int64_t B = 4, T = ex.length(0);
  experiment::ModelDims dims;
  dims.vocab = ex.vocab;
  dims.seq_len = T;
  dims.num_outputs = ex.labels.at(0).classes;
  dims.users = 10;
  experiment::SequenceClassifier model(spec.model, dims, rng);
  model.train();
  const Tensor ids = Tensor::from_i64(std::span(ex.tokens).subspan(0, static_cast<std::size_t>(B * T)), Shape{B, T});
  const Tensor class_labels = Tensor::from_i64(std::span(ex.labels.at(0).ids).subspan(0, static_cast<std::size_t>(B)), Shape{B});
  // Labels in the form each head takes: class or item ids, or f32 targets.
  auto labels_for = [&](const std::string& head) {
    if (head != "binary" && head != "regression") return class_labels;
    Tensor t = Tensor::empty(Shape{B});
    for (std::int64_t i = 0; i < B; ++i) t.f32()[i] = static_cast<float>(class_labels.i64()[i] % 2);
    return t;
  };
  Var query;
  if (spec.model.query == "user") query = model.query_for(Tensor::from_i64(std::vector<std::int64_t>{1, 2, 3, 4}, Shape{B}));
  if (spec.model.query == "target") query = model.query_for(class_labels);
  optim::Adam opt(model.params(), {.lr = 1e-2f});
  const auto before = model.state();
  if (spec.model.tasks.empty()) {
    Var loss = model.loss(model.forward(ids, Tensor(), query), labels_for(spec.model.head.type));
    BOOST_TEST(std::isfinite(loss.value().item()));
    loss.backward();
  } else {
    std::vector<Tensor> labels;
    for (const auto& [name, head] : spec.model.tasks) labels.push_back(labels_for(head.type));
    const auto losses = model.task_losses(model.forward_tasks(ids, Tensor(), query), labels);
    BOOST_TEST(losses.size() == spec.model.tasks.size());
    for (const auto& l : losses) BOOST_TEST(std::isfinite(l.value().item()));
    model.backward_tasks(losses);
  }
  opt.step();
  int changed = 0;
  for (const auto& [name, t] : model.state()) changed += std::memcmp(t.raw(), before.at(name).raw(), t.bytes()) != 0;
  BOOST_TEST(changed > 0);
}

std::vector<std::filesystem::path> specs_in(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(ATTNLAB_PROJECT_DIR) + "/experiments/" + dir))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(presets)

BOOST_AUTO_TEST_CASE(every_preset_builds_and_trains_one_step) {
  int checked = 0;
  for (const auto& path : specs_in("presets")) {
    BOOST_TEST_CONTEXT(path.filename().string()) {
      train_one_step(experiment::load_experiment(path.string(), kSmall).spec);
      ++checked;
    }
  }
  BOOST_TEST(checked >= 12);
}

BOOST_AUTO_TEST_CASE(every_trial_of_every_zoo_sweep_builds_and_trains_one_step) {
  std::size_t trials = 0;
  for (const auto& path : specs_in("zoo")) {
    const auto r = experiment::load_experiment(path.string(), kSmall);
    for (const auto& t : experiment::expand_sweep(r.raw, {})) {
      BOOST_TEST_CONTEXT(path.filename().string() << " trial " << t.index << ": " << t.label()) {
        train_one_step(experiment::resolve(t.spec).spec);
        ++trials;
      }
    }
  }
  BOOST_TEST(trials >= 70u);
}

BOOST_AUTO_TEST_SUITE_END()
