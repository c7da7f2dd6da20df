// ops::lstm and ops::gru against PyTorch goldens (scripts/goldens/gen_rnn.py), kernel reuse, and
// shape/dtype errors. Reference parity and finite differences are in cases_rnn.cpp.
#include <boost/test/unit_test.hpp>

#include "framework/core/rng.h"
#include "framework/onednn/onednn.h"
#include "framework/ops/rnn.h"
#include "tests/support/golden.h"

#include <array>
#include <string>
#include <vector>

namespace attnlab::testing {
namespace {

using autograd::Var;
using core::Shape;
using core::Tensor;
using RnnFn = Var (*)(const Var&, const Var&, const Var&, const Var&, const Var&, bool);

constexpr double kTol = 1e-4;  // relative, floor 1e-3 (max_rel_error's default)
constexpr std::array<const char*, 4> kParams{"w_ih", "w_hh", "b_ih", "b_hh"};

void expect_close(const std::string& what, const Tensor& got, const Tensor& want) {
  const double err = max_rel_error(got, want);
  BOOST_TEST(err <= kTol, what << ": max relative error " << err << " (got " << got.shape().str() << ", want "
                               << want.shape().str() << ")");
}

// Runs `layers` stacked op calls on the golden's x and parameters, backpropagates sum(r * y) and
// compares y and every gradient with PyTorch's.
void check_golden(const std::string& name, RnnFn fn, bool bidirectional, int layers) {
  const Golden g = Golden::load(name);
  Var x(g.tensor("x"), true);
  std::vector<std::array<Var, 4>> params;
  Var h = x;
  for (int k = 0; k < layers; ++k) {
    std::array<Var, 4> p;
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = Var(g.tensor(fmt::format("{}_l{}", kParams[i], k)), true);
    h = fn(h, p[0], p[1], p[2], p[3], bidirectional);
    params.push_back(p);
  }
  expect_close(name + " y", h.value(), g.tensor("y"));
  h.backward(g.tensor("r"));
  BOOST_REQUIRE(x.grad().defined());
  expect_close(name + " gx", x.grad(), g.tensor("gx"));
  for (int k = 0; k < layers; ++k)
    for (std::size_t i = 0; i < kParams.size(); ++i) {
      const std::string key = fmt::format("g{}_l{}", kParams[i], k);
      const Var& p = params[static_cast<std::size_t>(k)][i];
      BOOST_REQUIRE_MESSAGE(p.grad().defined(), name << ": no gradient reached " << key);
      expect_close(name + " " + key, p.grad(), g.tensor(key));
    }
}

Var random_var(Shape s, core::Rng& rng, bool requires_grad = true) {
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  for (auto& e : v) e = rng.uniform(-0.5f, 0.5f);
  return Var(Tensor::from(v, s), requires_grad);
}

struct Layer {
  Var x, w_ih, w_hh, b_ih, b_hh;
};

Layer random_layer(std::int64_t G, std::int64_t B, std::int64_t T, std::int64_t I, std::int64_t H, std::int64_t D,
                   std::uint64_t seed) {
  core::Rng rng(seed);
  return {random_var({B, T, I}, rng), random_var({D, G * H, I}, rng), random_var({D, G * H, H}, rng),
          random_var({D, G * H}, rng), random_var({D, G * H}, rng)};
}

// Predicate for BOOST_CHECK_EXCEPTION: the message names the op and contains `shape`.
template <class E>
auto names(std::string op, std::string shape) {
  return [op, shape](const E& e) {
    const std::string w = e.what();
    return w.rfind(op + ":", 0) == 0 && w.find(shape) != std::string::npos;
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rnn)

BOOST_AUTO_TEST_CASE(lstm_matches_pytorch_unidirectional) { check_golden("lstm_uni", &ops::lstm, false, 1); }
BOOST_AUTO_TEST_CASE(lstm_matches_pytorch_bidirectional) { check_golden("lstm_bi", &ops::lstm, true, 1); }
BOOST_AUTO_TEST_CASE(lstm_matches_pytorch_two_layers) { check_golden("lstm_2layer", &ops::lstm, true, 2); }
BOOST_AUTO_TEST_CASE(gru_matches_pytorch_unidirectional) { check_golden("gru_uni", &ops::gru, false, 1); }
BOOST_AUTO_TEST_CASE(gru_matches_pytorch_bidirectional) { check_golden("gru_bi", &ops::gru, true, 1); }
BOOST_AUTO_TEST_CASE(gru_matches_pytorch_two_layers) { check_golden("gru_2layer", &ops::gru, true, 2); }

// A second training step with the same shapes builds no primitive, and gives the same gradients
// (oneDNN accumulates into its weight-gradient buffers, which the op must clear every step).
BOOST_AUTO_TEST_CASE(second_step_builds_nothing_and_repeats_gradients) {
  for (bool is_lstm : {true, false}) {
    BOOST_TEST_CONTEXT((is_lstm ? "lstm" : "gru")) {
      RnnFn fn = is_lstm ? &ops::lstm : &ops::gru;
      Layer l = random_layer(is_lstm ? 4 : 3, 3, 4, 5, 7, 2, 99);
      core::Rng rng(7);
      const Tensor seed = random_var({3, 4, 14}, rng, false).value();
      std::vector<Tensor> first;
      for (int step = 0; step < 2; ++step) {
        for (Var* v : {&l.x, &l.w_ih, &l.w_hh, &l.b_ih, &l.b_hh}) v->zero_grad();
        const auto before = onednn::cache_stats();
        Var y = fn(l.x, l.w_ih, l.w_hh, l.b_ih, l.b_hh, true);
        y.backward(seed);
        const auto after = onednn::cache_stats();
        if (step == 1) {
          BOOST_TEST(after.misses == before.misses, "second step built " << after.misses - before.misses << " kernels");
          BOOST_TEST(after.hits > before.hits);
        }
        std::size_t i = 0;
        for (Var* v : {&l.x, &l.w_ih, &l.w_hh, &l.b_ih, &l.b_hh}) {
          BOOST_REQUIRE(v->grad().defined());
          if (step == 0)
            first.push_back(v->grad().clone());
          else
            BOOST_TEST(max_rel_error(v->grad(), first[i]) <= 1e-6, "gradient " << i << " changed on the second step");
          ++i;
        }
      }
    }
  }
}

// Under NoGrad the op runs oneDNN's inference primitive; it must agree with the training one.
BOOST_AUTO_TEST_CASE(inference_matches_training_forward) {
  for (bool is_lstm : {true, false}) {
    BOOST_TEST_CONTEXT((is_lstm ? "lstm" : "gru")) {
      RnnFn fn = is_lstm ? &ops::lstm : &ops::gru;
      Layer l = random_layer(is_lstm ? 4 : 3, 2, 6, 3, 5, 1, 5);
      const Var train = fn(l.x, l.w_ih, l.w_hh, l.b_ih, l.b_hh, false);
      BOOST_TEST(!train.is_leaf());
      autograd::NoGrad no_grad;
      const Var infer = fn(l.x, l.w_ih, l.w_hh, l.b_ih, l.b_hh, false);
      BOOST_TEST(infer.is_leaf());
      BOOST_TEST(max_rel_error(infer.value(), train.value()) <= 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op_and_shapes) {
  const Layer l = random_layer(4, 2, 3, 3, 4, 1, 1);
  // x of rank 2.
  BOOST_CHECK_EXCEPTION(ops::lstm(Var(Tensor::zeros({3, 3})), l.w_ih, l.w_hh, l.b_ih, l.b_hh), ShapeError,
                        names<ShapeError>("lstm", "x [3, 3]"));
  // One direction of weights for a bidirectional layer.
  BOOST_CHECK_EXCEPTION(ops::lstm(l.x, l.w_ih, l.w_hh, l.b_ih, l.b_hh, true), ShapeError,
                        names<ShapeError>("lstm", "w_ih [1, 16, 3]"));
  // Input width I disagrees with w_ih.
  BOOST_CHECK_EXCEPTION(ops::lstm(Var(Tensor::zeros({2, 3, 5})), l.w_ih, l.w_hh, l.b_ih, l.b_hh), ShapeError,
                        names<ShapeError>("lstm", "x [2, 3, 5]"));
  // Bias of the wrong size.
  BOOST_CHECK_EXCEPTION(ops::lstm(l.x, l.w_ih, l.w_hh, Var(Tensor::zeros({1, 12})), l.b_hh), ShapeError,
                        names<ShapeError>("lstm", "b_ih [1, 12]"));
  // LSTM weights (4H rows) handed to a GRU (3H rows).
  BOOST_CHECK_EXCEPTION(ops::gru(l.x, l.w_ih, l.w_hh, l.b_ih, l.b_hh), ShapeError,
                        names<ShapeError>("gru", "w_hh [1, 16, 4]"));
  // An empty sequence.
  BOOST_CHECK_EXCEPTION(
      ops::gru(Var(Tensor::zeros({2, 0, 3})), Var(Tensor::zeros({1, 12, 3})), Var(Tensor::zeros({1, 12, 4})),
               Var(Tensor::zeros({1, 12})), Var(Tensor::zeros({1, 12}))),
      ShapeError, names<ShapeError>("gru", "x [2, 0, 3]"));
}

BOOST_AUTO_TEST_CASE(integer_input_is_a_dtype_error) {
  const Layer l = random_layer(3, 2, 3, 3, 4, 1, 2);
  const std::vector<std::int64_t> ids(18, 1);
  BOOST_CHECK_EXCEPTION(ops::gru(Var(Tensor::from_i64(ids, {2, 3, 3})), l.w_ih, l.w_hh, l.b_ih, l.b_hh), DTypeError,
                        names<DTypeError>("gru", "[2, 3, 3]"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::testing
