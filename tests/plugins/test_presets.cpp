// Every preset under experiments/presets builds its model through the registry and trains one Adam
// step on a small batch of its dataset: the presets are runnable specs, not just valid YAML.
#include <boost/test/unit_test.hpp>

#include "framework/data/dataset.h"
#include "framework/experiment/model.h"
#include "framework/experiment/spec.h"
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

Tensor first_rows(const Tensor& t, std::int64_t n) {
  Shape s = t.shape();
  s[0] = n;
  Tensor out = Tensor::empty(s, t.dtype());
  std::memcpy(out.raw(), t.raw(), out.bytes());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(presets)

BOOST_AUTO_TEST_CASE(every_preset_builds_and_trains_one_step) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ATTNLAB_PROJECT_DIR) + "/experiments/presets")) {
    if (entry.path().extension() != ".yaml") continue;
    BOOST_TEST_CONTEXT(entry.path().filename().string()) {
      // Small sizes keep the test fast; the structure of every stage is the preset's.
      const auto r = experiment::load_experiment(entry.path().string(), {"++data.dataset.train=16", "++data.dataset.valid=4"});
      core::Rng rng(3);
      auto data = registry::create(r.spec.data.dataset, {.rng = &rng});
      experiment::ModelDims dims;
      dims.vocab = data->vocab();
      dims.seq_len = data->seq_len();
      dims.num_outputs = data->num_classes();
      dims.users = 10;
      experiment::SequenceClassifier model(r.spec.model, dims, rng);
      model.train();
      const std::int64_t B = 4;
      const auto split = data->train();
      const Tensor ids = first_rows(split.ids, B);
      // Labels in the form each head takes: class or item ids, or f32 targets.
      auto labels_for = [&](const std::string& head) {
        Tensor ids_labels = first_rows(split.labels, B);
        if (head != "binary" && head != "regression") return ids_labels;
        Tensor t = Tensor::empty(Shape{B});
        for (std::int64_t i = 0; i < B; ++i) t.f32()[i] = static_cast<float>(ids_labels.i64()[i] % 2);
        return t;
      };
      Var query;
      if (r.spec.model.query == "user") query = model.query_for(Tensor::from_i64(std::vector<std::int64_t>{1, 2, 3, 4}, Shape{B}));
      if (r.spec.model.query == "target") query = model.query_for(first_rows(split.labels, B));
      optim::Adam opt(model.params(), {.lr = 1e-2f});
      const auto before = model.state();
      if (r.spec.model.tasks.empty()) {
        Var loss = model.loss(model.forward(ids, Tensor(), query), labels_for(r.spec.model.head.type));
        BOOST_TEST(std::isfinite(loss.value().item()));
        loss.backward();
      } else {
        std::vector<Tensor> labels;
        for (const auto& [name, head] : r.spec.model.tasks) labels.push_back(labels_for(head.type));
        const auto losses = model.task_losses(model.forward_tasks(ids, Tensor(), query), labels);
        BOOST_TEST(losses.size() == r.spec.model.tasks.size());
        for (const auto& l : losses) BOOST_TEST(std::isfinite(l.value().item()));
        model.backward_tasks(losses);
      }
      opt.step();
      const auto after = model.state();
      int changed = 0;
      for (const auto& [name, t] : after) changed += std::memcmp(t.raw(), before.at(name).raw(), t.bytes()) != 0;
      BOOST_TEST(changed > 0);
      ++checked;
    }
  }
  BOOST_TEST(checked >= 12);
}

BOOST_AUTO_TEST_SUITE_END()
