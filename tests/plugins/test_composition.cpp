// Every extractor x every attention x {flatten, mean} pooling, assembled by
// model::Model on a next-item problem (the marker task, tied next_item head), trains one Adam
// step: the model builds, the logits have shape [B, classes], the loss is finite before and after
// the step, and every parameter tensor changed. One case per combination in the suite
// `composition`, built at start-up from the registries (probe::make_composition_suite, called by
// test_plugins' main in test_registry_gradcheck.cpp), named <extractor>__<attention>__<pooling>;
// an attention that pools() skips the pooling stage and has one case, <extractor>__<attention>.
// An attention that needs a query (it cannot be built with Context::query_dim 0, or cannot run
// without a query) gets the model's user embedding [B, embedding] as its query (model.query: user). Plugins are
// configured as in the gradient check (probe.h).
#include <boost/test/unit_test.hpp>

#include "framework/data/marker_task.h"
#include "framework/model/model.h"
#include "framework/optim/adam.h"
#include "tests/plugins/probe.h"

#include <cmath>
#include <map>

namespace attnlab::testing::probe {
namespace {

using autograd::Var;
using core::Shape;
using core::Tensor;

// A next-item problem: with classes = vocab the marker task's label is the item after the marker.
constexpr std::int64_t kTaskBatch = 6, kVocab = 12, kClasses = kVocab, kEmbedding = 8;
constexpr std::int64_t kPadId = 0;  // the marker task draws tokens from [2, vocab) and marks with 1

struct Combination {
  std::string extractor, attention, pooling;  // pooling empty: the attention pools
  bool needs_query = false;
};

// Pads the last step of every other row whose marker is not near the end (the label stays readable).
void pad_some_rows(const data::MarkerTask& task, Tensor& ids, Tensor& mask) {
  for (std::int64_t b = 1; b < kTaskBatch; b += 2) {
    if (task.marker_pos.i64()[b] + 1 >= kSeqLen - 1) continue;
    ids.i64()[b * kSeqLen + kSeqLen - 1] = kPadId;
    mask.f32()[b * kSeqLen + kSeqLen - 1] = 0.f;
  }
}

std::map<std::string, Tensor> values(const std::vector<std::pair<std::string, Var>>& params) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, v] : params) out[name] = v.value().clone();
  return out;
}

void train_one_step(const Combination& c) {
  core::Rng rng(21);
  const data::MarkerTask task = data::make_marker_task(kTaskBatch, kSeqLen, kVocab, kClasses, rng);
  Tensor ids = task.ids.clone();
  Tensor mask = Tensor::full(Shape{kTaskBatch, kSeqLen}, 1.f);
  pad_some_rows(task, ids, mask);

  model::ModelSection section;
  section.embedding = kEmbedding;
  section.extractor = spec<model::Extractor>(c.extractor);
  section.attention = spec<model::Attention>(c.attention);
  if (!c.pooling.empty()) section.pooling = spec<model::Pooling>(c.pooling);
  section.head = spec<model::Head>("next_item");  // tied to the item embeddings
  if (c.needs_query) section.query = "user";
  const model::ModelDims dims{.vocab = kVocab,
                              .seq_len = kSeqLen,
                              .num_outputs = kClasses,
                              .query_dim = 0,
                              .padding_idx = kPadId,
                              .users = c.needs_query ? kTaskBatch : 0};
  model::Model model(section, dims, rng);
  BOOST_TEST(model.attention_pools() == c.pooling.empty());
  std::vector<std::int64_t> user_ids(static_cast<std::size_t>(kTaskBatch));
  for (std::size_t i = 0; i < user_ids.size(); ++i) user_ids[i] = static_cast<std::int64_t>(i);
  const data::ModelInput in{.tokens = ids, .mask = mask, .users = Tensor::from_i64(user_ids, Shape{kTaskBatch})};

  const auto params = model.named_params();
  const auto before = values(params);
  optim::Adam adam(model.params(), {.lr = 1e-2f});

  const Var logits = model.forward(in).at(0);
  BOOST_TEST(logits.shape() == (Shape{kTaskBatch, kClasses}));
  const auto losses = model.losses({logits}, {task.labels});
  BOOST_REQUIRE(std::isfinite(losses.at(0).value().item()));
  model.backward(losses);
  adam.step();

  std::vector<std::string> unchanged;
  for (const auto& [name, v] : params) {
    const auto now = v.value().to_vector(), was = before.at(name).to_vector();
    if (now == was) unchanged.push_back(name);
  }
  BOOST_TEST(unchanged.empty(),
             "parameters unchanged by one Adam step: " << fmt::format("{}", fmt::join(unchanged, ", ")));

  autograd::NoGrad no_grad;
  BOOST_TEST(std::isfinite(model.losses(model.forward(in), {task.labels}).at(0).value().item()), "loss after the step");
}

// Whether the attention needs a query (it does not build with Context::query_dim 0, or its
// forward throws without a query), and whether it pools. An attention that builds in neither way
// gets needs_query false and fails in its cases with the constructor's message.
std::pair<bool, bool> query_and_pooling(const std::string& name) {
  core::Rng rng(1);
  auto ctx = context<model::Attention>(rng);
  ctx.query_dim = 0;
  try {
    auto attention = build<model::Attention>(name, ctx);
    autograd::NoGrad no_grad;
    attention->forward(Var(distinct_values(Shape{kBatch, kSeqLen, kDim}, rng)), padding_mask(), Var());
    return {false, attention->pools()};
  } catch (const std::exception&) {}
  try {
    return {true, build<model::Attention>(name, context<model::Attention>(rng))->pools()};
  } catch (const std::exception&) {
    return {false, false};
  }
}

}  // namespace

boost::unit_test::test_suite* make_composition_suite() {
  using namespace boost::unit_test;
  auto* suite = BOOST_TEST_SUITE("composition");
  for (const auto& extractor : registry::Registry<model::Extractor>::get().names())
    for (const auto& attention : registry::Registry<model::Attention>::get().names()) {
      const auto [needs_query, pools] = query_and_pooling(attention);
      for (const std::string pooling : {"flatten", "mean"}) {
        const Combination c{extractor, attention, pools ? "" : pooling, needs_query};
        const std::string id = pools ? extractor + "__" + attention : extractor + "__" + attention + "__" + pooling;
        suite->add(make_test_case(
            [c, id] {
              BOOST_TEST_CONTEXT(id) { train_one_step(c); }
            },
            test_name(id), __FILE__, __LINE__));
        if (pools) break;
      }
    }
  return suite;
}

BOOST_AUTO_TEST_SUITE(model_api)

namespace {
model::ModelSection seed_like() {
  model::ModelSection m;
  m.embedding = 4;
  m.extractor = spec<model::Extractor>("gru");
  m.attention = spec<model::Attention>("seed_self");
  m.pooling = spec<model::Pooling>("mean");
  return m;
}
}  // namespace

BOOST_AUTO_TEST_CASE(stages_are_named_children_and_the_default_spec_builds) {
  core::Rng rng(3);
  model::Model model(seed_like(), {.vocab = 7, .seq_len = 5, .num_outputs = 3}, rng);
  std::vector<std::string> children;
  for (const auto& [name, m] : model.children()) children.push_back(name);
  BOOST_TEST(children == (std::vector<std::string>{"embedding", "extractor", "attention", "pooling", "head"}),
             boost::test_tools::per_element());
  BOOST_TEST(model.named_params().front().first == "embedding.table");
  BOOST_TEST(!model.attention_pools());

  // A default-constructed section (lstm, seed_self, flatten, classification with their defaults).
  model::Model seed(model::ModelSection{}, {.vocab = 7, .seq_len = 5, .num_outputs = 3}, rng);
  const Tensor ids = Tensor::from_i64(std::vector<std::int64_t>(10, 2), Shape{2, 5});
  BOOST_TEST(seed.tasks() == std::vector<std::string>{""});
  const Var logits = seed.forward({.tokens = ids}).at(0);
  BOOST_TEST(logits.shape() == (Shape{2, 3}));
  BOOST_TEST(seed.attention_weights().shape() == (Shape{2, 5, 5}));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_typed_errors_naming_the_shapes) {
  core::Rng rng(4);
  model::Model model(seed_like(), {.vocab = 7, .seq_len = 5, .num_outputs = 3}, rng);
  const Tensor ids = Tensor::from_i64(std::vector<std::int64_t>(10, 2), Shape{2, 5});
  const auto message = [](const auto& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Shorter inputs are batches padded to their own length (data.padding: batch); longer ones are not.
  BOOST_TEST(model.any_length());
  const Tensor short_ids = Tensor::from_i64(std::vector<std::int64_t>(8, 2), Shape{2, 4});
  BOOST_TEST(model.forward({.tokens = short_ids})[0].shape().str() == "[2, 3]");
  const Tensor long_ids = Tensor::from_i64(std::vector<std::int64_t>(12, 2), Shape{2, 6});
  BOOST_CHECK_THROW(model.forward({.tokens = long_ids}), ShapeError);
  BOOST_TEST(message([&] { model.forward({.tokens = long_ids}); }) ==
             "model: token ids must be [B, 5] or shorter (left-padded); got tokens [2, 6], mask none");
  BOOST_CHECK_THROW(model.forward({.tokens = Tensor::zeros(Shape{2, 5})}), DTypeError);
  BOOST_CHECK_THROW(model.forward({.tokens = ids, .mask = Tensor::full(Shape{2, 4}, 1.f)}), ShapeError);
  BOOST_TEST(message([&] {
               model.forward({.tokens = ids, .masked = Tensor::zeros(Shape{2, 5})});
             }).find("no mask token") != std::string::npos);

  model::ModelSection with_users = seed_like();
  with_users.query = "user";
  with_users.attention = spec<model::Attention>("user");
  model::Model personal(with_users, {.vocab = 7, .seq_len = 5, .num_outputs = 3, .users = 4}, rng);
  BOOST_TEST(message([&] { personal.forward({.tokens = ids}); }) ==
             "model: model.query user needs user ids i64 [2]; got none");
  BOOST_CHECK_THROW(personal.forward({.tokens = ids, .users = Tensor::zeros(Shape{3}, core::DType::i64)}), ShapeError);
  BOOST_TEST(personal.forward({.tokens = ids, .users = Tensor::zeros(Shape{2}, core::DType::i64)}).at(0).shape() ==
             (Shape{2, 3}));

  BOOST_CHECK_THROW(model::Model(seed_like(), {.vocab = 0, .seq_len = 5, .num_outputs = 3}, rng), Error);
  model::ModelSection unknown = seed_like();
  unknown.attention = config::PluginSpec<model::Attention>("no_such_attention");
  BOOST_CHECK_THROW(model::Model(unknown, {.vocab = 7, .seq_len = 5, .num_outputs = 3}, rng), registry::PluginError);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::testing::probe
