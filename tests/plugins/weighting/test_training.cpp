// Every multitask structure trained with every loss weighting on a two-task synthetic problem:
// task "sign" is binary (is sum(x) > 0?), task "linear" regresses x · c. A shared encoder
// (Linear + tanh, the `shared` parameters of the weighting) feeds the structure, then one head per
// task. 50 full-batch Adam steps, an "epoch" every 10 (for DWA); both task losses must fall to below half.
#include "framework/nn/layers.h"
#include "framework/optim/adam.h"
#include "tests/plugins/multitask/multitask_util.h"

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

constexpr std::int64_t kBatch = 64, kIn = 6;

struct Problem {
  Var x;
  Tensor sign, linear;  // f32 [B]
};

Problem make_problem() {
  core::Rng rng(17);
  const std::vector<float> c{0.5f, -1.f, 0.25f, 0.8f, -0.3f, 0.6f};
  std::vector<float> x(kBatch * kIn), s(kBatch), l(kBatch);
  for (std::int64_t b = 0; b < kBatch; ++b) {
    float sum = 0, lin = 0;
    for (std::int64_t i = 0; i < kIn; ++i) {
      const float v = rng.uniform(-1.f, 1.f);
      x[static_cast<std::size_t>(b * kIn + i)] = v;
      sum += v;
      lin += c[static_cast<std::size_t>(i)] * v;
    }
    s[static_cast<std::size_t>(b)] = sum > 0 ? 1.f : 0.f;
    l[static_cast<std::size_t>(b)] = lin;
  }
  return {Var(Tensor::from(x, Shape{kBatch, kIn})), Tensor::from(s, Shape{kBatch}), Tensor::from(l, Shape{kBatch})};
}

struct Model {
  std::unique_ptr<nn::Linear> encoder;
  std::unique_ptr<model::MultiTask> structure;
  std::vector<std::unique_ptr<model::Head>> heads;

  std::vector<Var> losses(const Problem& p) {
    const auto reps = structure->forward(encoder->forward(p.x, ops::Activation::tanh));
    return {heads[0]->loss(heads[0]->forward(reps[0]), p.sign), heads[1]->loss(heads[1]->forward(reps[1]), p.linear)};
  }
};

Model make_model(const std::string& structure, core::Rng& rng) {
  Model m;
  m.encoder = std::make_unique<nn::Linear>(kIn, 12, true, rng);
  m.structure = make_multitask(structure, multitask_context(12, {"sign", "linear"}, rng));
  auto& heads = registry::Registry<model::Head>::get();
  for (const char* h : {"{type: binary}", "{type: regression}"}) {
    model::Head::Context c;
    c.in_dim = m.structure->out_dim();
    c.num_outputs = 1;
    c.rng = &rng;
    m.heads.push_back(heads.create(config::parse(h, "head.yaml"), c));
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(weighting_training)

BOOST_AUTO_TEST_CASE(every_structure_with_every_weighting_lowers_both_losses) {
  const std::vector<std::string> structures{
      "{type: shared_bottom, hidden: [16]}",
      "{type: mmoe, num_experts: 3, expert_hidden: [16]}",
      "{type: cgc, shared_experts: 2, task_experts: 1, expert_hidden: [16]}",
      "{type: ple, levels: 2, shared_experts: 2, task_experts: 1, expert_hidden: [16]}",
      "{type: cross_stitch, hidden: [16, 16]}",
      "{type: task_attention, hidden: [16]}",
  };
  const std::vector<std::string> weightings{"{type: fixed}", "{type: uncertainty}", "{type: dwa}", "{type: gradnorm}",
                                            "{type: pcgrad}"};
  BOOST_TEST(registry::Registry<model::MultiTask>::get().names().size() == structures.size());
  BOOST_TEST(registry::Registry<model::Weighting>::get().names().size() == weightings.size());
  const Problem p = make_problem();
  for (const auto& s : structures) {
    for (const auto& w : weightings) {
      BOOST_TEST_CONTEXT(s << " with " << w) {
        core::Rng rng(7);
        Model m = make_model(s, rng);
        auto weighting = make_weighting(w, weighting_context({"sign", "linear"}, rng));
        std::vector<Var> params = m.encoder->params();
        for (const auto& v : m.structure->params()) params.push_back(v);
        for (const auto& h : m.heads)
          for (const auto& v : h->params()) params.push_back(v);
        for (const auto& v : weighting->params()) params.push_back(v);
        optim::AdamConfig cfg;
        cfg.lr = 0.01f;
        optim::Adam adam(params, cfg);

        std::vector<double> first, epoch(2, 0.0);
        for (int step = 0; step < 50; ++step) {
          adam.zero_grad();
          const auto losses = m.losses(p);
          if (first.empty()) first = {losses[0].value().item(), losses[1].value().item()};
          for (int t = 0; t < 2; ++t) epoch[t] += losses[t].value().item() / 10.0;
          weighting->backward(losses, m.encoder->params());
          adam.step();
          if (step % 10 == 9) {
            weighting->end_epoch(epoch);
            epoch.assign(2, 0.0);
          }
        }
        autograd::NoGrad no_grad;
        const auto last = m.losses(p);
        for (int t = 0; t < 2; ++t) {
          const double after = last[t].value().item();
          BOOST_TEST(std::isfinite(after));
          BOOST_TEST(after < 0.5 * first[t], "task " << t << ": " << first[t] << " -> " << after);
        }
        for (float x : weighting->weights()) BOOST_TEST((std::isfinite(x) && x > 0.f));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
