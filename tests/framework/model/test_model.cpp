// The model's training objectives: all-position training of a causal model equals training every
// prefix example from its last step (same parameters, same targets: the same summed loss and the
// same gradients); cloze batches train a mask token; models that do not suit an objective are
// refused naming the config path; embedding options (scale, init, dropout).
#include "framework/config/value.h"
#include "framework/data/sequence_batch.h"
#include "framework/data/sequences.h"
#include "framework/model/model.h"
#include "framework/ops/ops.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string_view>

namespace attnlab_model_test {

using namespace attnlab;
using autograd::Var;
using core::Shape;
using core::Tensor;
using I64s = std::vector<std::int64_t>;

/// Three users with 6, 4 and 7 interactions over 9 items, as next-item examples (min_history 1).
data::Examples sequences() {
  std::vector<std::string_view> users, items;
  const std::vector<std::string> names{"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  const std::vector<std::pair<std::string_view, std::vector<int>>> logs{
      {"u0", {0, 3, 1, 4, 1, 5}}, {"u1", {8, 2, 6, 5}}, {"u2", {3, 5, 8, 7, 2, 0, 4}}};
  for (const auto& [u, seq] : logs)
    for (const int i : seq) {
      users.push_back(u);
      items.push_back(names[static_cast<std::size_t>(i)]);
    }
  return data::next_item_examples(data::make_sequences(users, items, {}, {}), 1, "test");
}

model::ModelSection section(const std::string& yaml) {
  return config::bind_or_throw<model::ModelSection>(config::parse(yaml, "model.yaml"));
}

std::unique_ptr<model::Objective> objective(const std::string& type) {
  return registry::create(config::PluginSpec<model::Objective>(type), model::Objective::Context{});
}

constexpr std::int64_t kSeqLen = 8;

model::ModelDims dims_of(const data::Examples& ex) {
  return {.vocab = ex.vocab, .seq_len = kSeqLen, .num_outputs = ex.vocab, .query_dim = 0, .padding_idx = 0};
}

/// Sum over every example of its loss, and the gradients of every parameter, training each example
/// alone from the last step of its own (left-padded) history.
std::pair<double, std::map<std::string, Tensor>> per_prefix(model::Model& m, const data::Examples& ex,
                                                            const I64s& rows) {
  for (const auto& p : m.params()) p.zero_grad();
  double sum = 0;
  for (const auto r : rows) {
    const auto b = data::make_batch(ex, I64s{r}, kSeqLen);
    const auto losses = m.train_losses(b.input(), {b.labels[0]});
    sum += losses[0].value().item();
    m.backward(losses);  // gradients accumulate over the examples
  }
  std::map<std::string, Tensor> grads;
  for (const auto& [name, p] : m.named_params()) grads[name] = p.grad().clone();
  return {sum, grads};
}

/// The same from one all-position batch of the sequences: its mean loss times the labelled positions.
std::pair<double, std::map<std::string, Tensor>> all_positions(model::Model& m, const data::Examples& ex,
                                                               const I64s& rows) {
  for (const auto& p : m.params()) p.zero_grad();
  const auto batches = objective("all_positions")
                           ->training_batches(ex, rows, {.seq_len = kSeqLen, .append_mask = false, .seen = false}, 0);
  const auto b = batches.build(batches.units, 1);
  const Tensor& labels = b.labels[0];
  double n = 0;
  for (std::int64_t i = 0; i < labels.numel(); ++i) n += labels.i64()[i] >= 0 ? 1 : 0;
  BOOST_TEST(n == static_cast<double>(rows.size()));  // every example's target is one labelled position
  const auto losses = m.train_losses(b.input(), {labels});
  (losses[0] * static_cast<float>(n)).backward();
  std::map<std::string, Tensor> grads;
  for (const auto& [name, p] : m.named_params()) grads[name] = p.grad().clone();
  return {losses[0].value().item() * n, grads};
}

void check_equivalent(const std::string& yaml) {
  const auto ex = sequences();
  I64s rows(static_cast<std::size_t>(ex.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  core::Rng rng(5);
  const auto obj = objective("all_positions");
  model::Model m(section(yaml), dims_of(ex), rng, obj.get());
  m.eval();  // no dropout
  const auto [prefix_loss, prefix_grads] = per_prefix(m, ex, rows);
  const auto [all_loss, all_grads] = all_positions(m, ex, rows);
  BOOST_TEST(all_loss == prefix_loss, boost::test_tools::tolerance(1e-4));
  for (const auto& [name, g] : prefix_grads) {
    const auto a = all_grads.at(name).to_vector(), p = g.to_vector();
    double diff = 0, scale = 1e-3;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(a[i]) - p[i]));
      scale = std::max(scale, std::abs(static_cast<double>(p[i])));
    }
    BOOST_TEST(diff / scale < 1e-3, name << ": max |grad difference| " << diff << " at scale " << scale);
  }
}

BOOST_AUTO_TEST_SUITE(model_objectives)

BOOST_AUTO_TEST_CASE(all_positions_equals_the_sum_of_per_prefix_losses_causal_transformer) {
  // Without position embeddings a step's representation does not depend on where the window
  // starts, so the equality is exact up to rounding (learned positions index the padded window,
  // as SASRec's do, and would differ between the two layouts).
  check_equivalent(
      "embedding: 8\nextractor: {type: transformer, layers: 2, num_heads: 2, ffn_dim: 16, dropout: 0.0, causal: true}\n"
      "attention: {type: none}\npooling: {type: last}\nhead: {type: next_item, tied: true}\n");
}

BOOST_AUTO_TEST_CASE(all_positions_equals_the_sum_of_per_prefix_losses_causal_cnn) {
  // Padding steps read as zeros, like the convolution's own padding: the same equality.
  check_equivalent(
      "embedding: 8\nextractor: {type: cnn, kernel_sizes: [2], channels: 8, layers: 2, dilation_growth: 2, causal: "
      "true}\n"
      "attention: {type: scaled_dot, causal: true}\npooling: {type: last}\nhead: {type: next_item, tied: false}\n");
}

BOOST_AUTO_TEST_CASE(cloze_trains_a_mask_token_and_evaluates_at_an_appended_mask) {
  const auto ex = sequences();
  I64s rows(static_cast<std::size_t>(ex.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
  core::Rng rng(6);
  const auto obj = objective("cloze");
  model::Model m(
      section(
          "embedding: 8\npositions: learned\nextractor: {type: transformer, layers: 1, num_heads: 2, dropout: 0.0}\n"
          "attention: {type: none}\npooling: {type: last}\nhead: {type: next_item}\n"),
      dims_of(ex), rng, obj.get());
  const auto batches = obj->training_batches(ex, rows, {.seq_len = kSeqLen, .append_mask = false, .seen = false}, 3);
  BOOST_TEST(batches.units.size() == 3u);  // one unit per user
  const auto b = batches.build(batches.units, 1);
  BOOST_TEST(b.masked.defined());
  const auto losses = m.train_losses(b.input(), {b.labels[0]});
  BOOST_TEST(std::isfinite(losses[0].value().item()));
  m.backward(losses);
  bool mask_grad = false;
  for (const auto& [name, p] : m.named_params())
    if (name == "mask_token") mask_grad = p.grad().defined() && p.grad().to_vector() != std::vector<float>(8, 0.f);
  BOOST_TEST(mask_grad);
  // Evaluation: the history, then a mask step whose representation scores the items.
  const auto eval = data::make_batch(ex, I64s{4}, obj->eval_options({.seq_len = kSeqLen}));
  BOOST_TEST(eval.masked.to_vector().back() == 1.f);
  BOOST_TEST(m.forward(eval.input()).at(0).shape() == (Shape{1, ex.vocab}));
  // A model built for another objective has no mask token.
  model::Model plain(
      section("embedding: 8\nextractor: {type: identity}\nattention: {type: none}\npooling: {type: last}\n"
              "head: {type: next_item}\n"),
      dims_of(ex), rng);
  testing::expect_error<ShapeError>([&] { plain.forward(eval.input()); }, {"no mask token", "cloze"});
}

BOOST_AUTO_TEST_CASE(models_that_cannot_train_every_position_are_refused_by_config_path) {
  const auto ex = sequences();
  core::Rng rng(7);
  const auto obj = objective("all_positions");
  const auto refused = [&](const std::string& yaml, std::initializer_list<std::string> parts) {
    testing::expect_error<Error>([&] { model::Model(section(yaml), dims_of(ex), rng, obj.get()); }, parts);
  };
  refused(
      "extractor: {type: transformer, num_heads: 2, causal: false}\nattention: {type: none}\npooling: {type: "
      "last}\nhead: {type: next_item}\n",
      {"model.extractor", "transformer", "later steps", "causal: true"});
  refused(
      "extractor: {type: gru, bidirectional: true}\nattention: {type: none}\npooling: {type: last}\nhead: {type: "
      "next_item}\n",
      {"model.extractor", "gru", "bidirectional: false"});
  refused("extractor: {type: gru}\nattention: {type: scaled_dot}\npooling: {type: last}\nhead: {type: next_item}\n",
          {"model.attention", "scaled_dot", "causal: true"});
  refused("extractor: {type: gru}\nattention: {type: none}\npooling: {type: mean}\nhead: {type: next_item}\n",
          {"model.pooling", "{type: last}", "{type: mean}"});
  model::ModelDims with_users = dims_of(ex);
  with_users.users = 3;
  testing::expect_error<Error>(
      [&] {
        model::Model(section("extractor: {type: gru}\nattention: {type: additive, query_from: context}\nquery: "
                             "user\npooling: {type: last}\n"
                             "head: {type: next_item}\n"),
                     with_users, rng, obj.get());
      },
      {"model.attention", "additive", "pools"});
  // Cloze needs no causality: a bidirectional encoder is its point.
  model::Model bert(section("extractor: {type: transformer, num_heads: 2}\nattention: {type: none}\npooling: {type: "
                            "last}\nhead: {type: next_item}\n"),
                    dims_of(ex), rng, objective("cloze").get());
  BOOST_TEST(!bert.attention_pools());
}

BOOST_AUTO_TEST_CASE(embedding_options_scale_initialise_and_drop) {
  const auto ex = sequences();
  const auto b = data::make_batch(ex, I64s{3, 4}, kSeqLen);
  const std::string rest =
      "extractor: {type: identity}\nattention: {type: none}\npooling: {type: last}\nhead: {type: next_item}\n";
  // Scaling by sqrt(E) scales the last step's representation, so the tied scores, by exactly sqrt(E).
  core::Rng r1(8), r2(8);
  model::Model plain(section("embedding: 16\n" + rest), dims_of(ex), r1);
  model::Model scaled(section("embedding: 16\nembedding_scale: true\n" + rest), dims_of(ex), r2);
  plain.eval();
  scaled.eval();
  const auto p = plain.forward(b.input()).at(0).value().to_vector(),
             s = scaled.forward(b.input()).at(0).value().to_vector();
  for (std::size_t i = 0; i < p.size(); ++i) BOOST_TEST(s[i] == 4.f * p[i], boost::test_tools::tolerance(1e-5f));
  // Initialisations: the table's spread follows the choice (padding row 0 stays zero).
  const auto spread = [&](const std::string& init) {
    core::Rng rng(9);
    model::Model m(section("embedding: 16\n" + init + rest),
                   {.vocab = 2000, .seq_len = 4, .num_outputs = 2000, .padding_idx = 0}, rng);
    const auto t = m.named_params().front().second.value().to_vector();
    double sq = 0, max = 0;
    for (std::size_t i = 16; i < t.size(); ++i) {
      sq += static_cast<double>(t[i]) * t[i];
      max = std::max(max, std::abs(static_cast<double>(t[i])));
    }
    for (std::size_t i = 0; i < 16; ++i) BOOST_TEST(t[i] == 0.f);
    return std::pair{std::sqrt(sq / static_cast<double>(t.size() - 16)), max};
  };
  BOOST_TEST(spread("").first == 1.0, boost::test_tools::tolerance(0.03));
  const auto [std_t, max_t] = spread("embedding_init: truncated_normal\nembedding_std: 0.02\n");
  BOOST_TEST(max_t <= 0.04 + 1e-7);
  BOOST_TEST(std_t == 0.02 * 0.88, boost::test_tools::tolerance(0.05));  // a N(0,1) truncated at 2 has std 0.88
  BOOST_TEST(spread("embedding_init: xavier_normal\n").first == std::sqrt(2.0 / (2000 + 16)),
             boost::test_tools::tolerance(0.05));
  BOOST_TEST(spread("embedding_init: xavier_uniform\n").second <= std::sqrt(6.0 / (2000 + 16)));
  // Dropout on the embedded sequence: in training some inputs are zeroed, in evaluation none.
  core::Rng r3(10);
  model::Model dropped(section("embedding: 16\nembedding_dropout: 0.5\n" + rest), dims_of(ex), r3);
  dropped.eval();
  const auto e1 = dropped.forward(b.input()).at(0).value().to_vector();
  BOOST_TEST(e1 == dropped.forward(b.input()).at(0).value().to_vector());
  dropped.train();
  BOOST_TEST(e1 != dropped.forward(b.input()).at(0).value().to_vector());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_model_test
