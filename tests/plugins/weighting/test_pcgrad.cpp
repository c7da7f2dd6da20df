// weighting/pcgrad: projections of conflicting gradients computed by hand.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

#include <algorithm>
#include <array>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

Var dot_loss(const Var& theta, std::vector<float> a) {
  return ops::sum_all(theta * Var(Tensor::from(a, theta.shape())));
}

using Vec = std::array<double, 2>;
double dot(const Vec& a, const Vec& b) { return a[0] * b[0] + a[1] * b[1]; }
// g_i projected off each conflicting g_j in the given order (the original g_j).
Vec project(Vec g, const std::vector<Vec>& others) {
  for (const Vec& o : others) {
    const double d = dot(g, o);
    if (d < 0) {
      const double s = d / dot(o, o);
      g = {g[0] - s * o[0], g[1] - s * o[1]};
    }
  }
  return g;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(weighting_pcgrad)

BOOST_AUTO_TEST_CASE(two_conflicting_gradients_by_hand) {
  core::Rng rng(1);
  auto w = make_weighting("{type: pcgrad}", weighting_context({"a", "b"}, rng));
  Var theta(Tensor::from(std::vector<float>{0.3f, -0.2f}, Shape{2}), true);
  Var phi(Tensor::from(std::vector<float>{1.5f}, Shape{1}), true);  // task a's own parameter
  ops::sum_all(theta).backward();                                   // a gradient already there: pcgrad adds to it
  // g_a = (1, 0), g_b = (-1, 1): g_a · g_b = -1 < 0.
  //   g_a' = g_a - (-1 / 2) g_b = (0.5, 0.5);   g_b' = g_b - (-1 / 1) g_a = (0, 1).
  w->backward({dot_loss(theta, {1.f, 0.f}) + ops::sum_all(ops::square(phi)), dot_loss(theta, {-1.f, 1.f})}, {theta});
  const auto g = theta.grad().to_vector();
  BOOST_TEST(g[0] == 1.0 + 0.5, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(g[1] == 1.0 + 1.5, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(phi.grad().to_vector()[0] == 3.f);  // plain gradient 2 phi
}

BOOST_AUTO_TEST_CASE(agreeing_gradients_are_summed_unchanged) {
  core::Rng rng(2);
  auto w = make_weighting("{type: pcgrad}", weighting_context({"a", "b"}, rng));
  Var theta(Tensor::from(std::vector<float>{0.f, 0.f}, Shape{2}), true);
  w->backward({dot_loss(theta, {1.f, 0.f}), dot_loss(theta, {1.f, 1.f})}, {theta});
  BOOST_TEST(theta.grad().to_vector() == (std::vector<float>{2.f, 1.f}));
}

BOOST_AUTO_TEST_CASE(three_tasks_match_one_of_the_orders) {
  const std::vector<Vec> g{{1, 0}, {-1, 1}, {-0.5, -1}};
  // Every task's projection for both orders of the two others.
  std::vector<std::array<Vec, 2>> options;
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<Vec> o;
    for (std::size_t j = 0; j < 3; ++j)
      if (j != i) o.push_back(g[j]);
    options.push_back({project(g[i], {o[0], o[1]}), project(g[i], {o[1], o[0]})});
  }
  int hits = 0;
  std::vector<std::pair<double, double>> seen;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    core::Rng rng(seed);
    auto w = make_weighting("{type: pcgrad}", weighting_context({"a", "b", "c"}, rng));
    Var theta(Tensor::from(std::vector<float>{0.f, 0.f}, Shape{2}), true);
    std::vector<Var> losses;
    for (const Vec& v : g) losses.push_back(dot_loss(theta, {static_cast<float>(v[0]), static_cast<float>(v[1])}));
    w->backward(losses, {theta});
    const auto got = theta.grad().to_vector();
    bool match = false;
    for (int mask = 0; mask < 8; ++mask) {
      Vec sum{0, 0};
      for (int i = 0; i < 3; ++i) {
        const Vec& p = options[i][(mask >> i) & 1];
        sum = {sum[0] + p[0], sum[1] + p[1]};
      }
      match = match || (std::abs(sum[0] - got[0]) < 1e-5 && std::abs(sum[1] - got[1]) < 1e-5);
    }
    hits += match;
    if (std::none_of(seen.begin(), seen.end(), [&](const auto& s) {
          return std::abs(s.first - got[0]) < 1e-6 && std::abs(s.second - got[1]) < 1e-6;
        }))
      seen.emplace_back(got[0], got[1]);
  }
  BOOST_TEST(hits == 8);
  BOOST_TEST(seen.size() > 1u, "the task order never changed the result");
}

BOOST_AUTO_TEST_CASE(without_shared_parameters_it_is_the_plain_sum) {
  core::Rng rng(3);
  auto w = make_weighting("{type: pcgrad}", weighting_context({"a", "b"}, rng));
  Var theta(Tensor::from(std::vector<float>{0.f, 0.f}, Shape{2}), true);
  w->backward({dot_loss(theta, {1.f, 0.f}), dot_loss(theta, {-1.f, 1.f})}, {});
  BOOST_TEST(theta.grad().to_vector() == (std::vector<float>{0.f, 1.f}));
  BOOST_TEST(w->weights() == (std::vector<float>{1.f, 1.f}));
}

BOOST_AUTO_TEST_CASE(bad_contexts_and_losses_throw) {
  core::Rng rng(4);
  model::Weighting::Context ctx = weighting_context({"a"}, rng);
  ctx.rng = nullptr;
  expect_error<Error>([&] { make_weighting("{type: pcgrad}", ctx); }, {"weighting/pcgrad", "Rng"});
  auto w = make_weighting("{type: pcgrad}", weighting_context({"a", "b"}, rng));
  expect_error<ShapeError>([&] { w->backward({Var(Tensor::scalar(1.f))}, {}); },
                           {"weighting/pcgrad", "1 task losses for 2 tasks"});
}

BOOST_AUTO_TEST_SUITE_END()
