// weighting/dwa: weights from given loss histories against the formula.
#include "tests/plugins/multitask/multitask_util.h"
#include "tests/support/expect.h"

#include <cmath>

using namespace attnlab;
using namespace attnlab::testing;
using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

// T exp(r_t / temp) / sum_s exp(r_s / temp), with r_t = prev[t] / prev2[t], written out naively.
std::vector<double> dwa(const std::vector<double>& prev2, const std::vector<double>& prev, double temp) {
  std::vector<double> e;
  double total = 0;
  for (std::size_t t = 0; t < prev.size(); ++t) total += e.emplace_back(std::exp(prev[t] / prev2[t] / temp));
  for (double& x : e) x = static_cast<double>(prev.size()) * x / total;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(weighting_dwa)

BOOST_AUTO_TEST_CASE(weights_follow_the_loss_ratios) {
  core::Rng rng(1);
  auto w = make_weighting("{type: dwa, temperature: 0.5}", weighting_context({"a", "b", "c"}, rng));
  BOOST_TEST(w->weights() == std::vector<float>(3, 1.f));
  w->end_epoch({1.0, 2.0, 0.4});
  BOOST_TEST(w->weights() == std::vector<float>(3, 1.f));  // one epoch: still 1
  w->end_epoch({0.5, 1.8, 0.5});
  auto want = dwa({1.0, 2.0, 0.4}, {0.5, 1.8, 0.5}, 0.5);
  auto got = w->weights();
  double sum = 0;
  for (int t = 0; t < 3; ++t) {
    BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));
    sum += got[t];
  }
  BOOST_TEST(sum == 3.0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(got[2] > got[1]);  // the slowest-falling (here rising) task weighs most
  BOOST_TEST(got[1] > got[0]);

  w->end_epoch({0.45, 0.9, 0.5});  // only the last two epochs count
  want = dwa({0.5, 1.8, 0.5}, {0.45, 0.9, 0.5}, 0.5);
  got = w->weights();
  for (int t = 0; t < 3; ++t) BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));

  Var a(Tensor::scalar(1.f), true), b(Tensor::scalar(2.f), true), c(Tensor::scalar(3.f), true);
  BOOST_TEST(w->combine({a, b, c}).value().item() == want[0] + 2 * want[1] + 3 * want[2],
             boost::test_tools::tolerance(1e-5));
  w->backward({a, b, c}, {});
  BOOST_TEST(c.grad().item() == want[2], boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(history_is_state_and_zero_losses_count_as_ratio_one) {
  core::Rng rng(2);
  auto w = make_weighting("{type: dwa}", weighting_context({"a", "b"}, rng));
  w->end_epoch({0.0, 1.0});
  w->end_epoch({1.0, 2.0});
  const auto want = dwa({1.0, 1.0}, {1.0, 2.0}, 2.0);  // the first ratio falls back to 1
  auto got = w->weights();
  for (int t = 0; t < 2; ++t) BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));

  auto other = make_weighting("{type: dwa}", weighting_context({"a", "b"}, rng));
  other->load_state(w->state());
  got = other->weights();
  for (int t = 0; t < 2; ++t) BOOST_TEST(got[t] == want[t], boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(bad_configs_and_histories_throw) {
  core::Rng rng(3);
  expect_error<config::ConfigError>(
      [&] { make_weighting("{type: dwa, temperature: 0}", weighting_context({"a"}, rng)); }, {"temperature"});
  auto w = make_weighting("{type: dwa}", weighting_context({"a", "b"}, rng));
  expect_error<ShapeError>([&] { w->end_epoch({1.0}); }, {"weighting/dwa", "1 task losses for 2 tasks"});
}

BOOST_AUTO_TEST_SUITE_END()
