// The generic three-tier op checks (see tests/support/op_case.h), one Boost test case per op case
// in the suites `reference_parity` (tier 1) and `finite_difference` (tier 2), and the coverage
// check over the op table in `op_table` (tier 3).
#include <boost/test/unit_test.hpp>

#include "framework/core/tensor.h"
#include "framework/ops/op_registry.h"
#include "tests/support/op_case.h"

#include <cmath>
#include <map>
#include <set>

namespace attnlab::testing {
namespace {

using core::Tensor;

struct Inputs {
  std::vector<RefArray> ref;  // double copies of exactly the values the f32 op sees
  std::vector<Var> vars;
};

Inputs make_inputs(const OpCase& c, core::Rng& rng) {
  Inputs in;
  for (const auto& spec : c.inputs) {
    std::vector<double> vals;
    if (spec.gen) {
      vals = spec.gen(spec.shape, rng);
    } else {
      vals.resize(static_cast<std::size_t>(spec.shape.numel()));
      for (auto& v : vals)
        v = spec.integer ? spec.lo + static_cast<double>(rng.below(static_cast<std::uint64_t>(spec.hi - spec.lo)))
                         : spec.lo + (spec.hi - spec.lo) * rng.uniform_double();
    }
    if (spec.integer) {
      std::vector<std::int64_t> iv(vals.begin(), vals.end());
      in.vars.emplace_back(Tensor::from_i64(iv, spec.shape), false);
    } else {
      std::vector<float> fv(vals.begin(), vals.end());
      for (std::size_t i = 0; i < fv.size(); ++i) vals[i] = fv[i];
      in.vars.emplace_back(Tensor::from(fv, spec.shape), spec.differentiable);
    }
    in.ref.emplace_back(spec.shape, std::move(vals));
  }
  return in;
}

// Compares got (f32) with want (double); returns an empty string when close, else the worst element.
std::string compare(const std::string& what, const Tensor& got, const RefArray& want, double rtol, double atol) {
  if (got.shape() != want.shape)
    return fmt::format("{}: shape {} but reference has {}", what, got.shape().str(), want.shape.str());
  const auto g = got.to_vector();
  double worst = 0.0;
  std::int64_t at = -1;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = std::abs(static_cast<double>(g[static_cast<std::size_t>(i)]) - want[i]);
    const double excess = d - (atol + rtol * std::abs(want[i]));
    if (!(excess <= 0.0) && (at < 0 || excess > worst || std::isnan(d))) {
      worst = excess;
      at = i;
    }
  }
  if (at < 0) return {};
  return fmt::format("{}: element {} is {} but the reference says {} (rtol {}, atol {})", what, at,
                     g[static_cast<std::size_t>(at)], want[at], rtol, atol);
}

void tier1(const OpCase& c) {
  core::Rng rng(1234);
  Inputs in = make_inputs(c, rng);
  Var y = c.run(in.vars);
  const RefArray want = c.forward(in.ref);
  const std::string fwd = compare("forward", y.value(), want, c.rtol, c.atol);
  BOOST_TEST(fwd.empty(), fwd);
  if (!c.backward) return;

  RefArray r(want.shape);
  for (auto& v : r.v) v = static_cast<double>(rng.uniform(-1.f, 1.f));
  const std::vector<float> rf(r.v.begin(), r.v.end());
  y.backward(Tensor::from(rf, y.shape()));
  const auto grads = c.backward(in.ref, r);
  BOOST_REQUIRE_EQUAL(grads.size(), c.inputs.size());
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i].differentiable) continue;
    if (!in.vars[i].grad().defined()) {
      BOOST_TEST(false, fmt::format("input {}: no gradient reached it", i));
      continue;
    }
    const std::string msg =
        compare(fmt::format("gradient of input {}", i), in.vars[i].grad(), grads[i], c.rtol, c.atol);
    BOOST_TEST(msg.empty(), msg);
  }
}

double weighted_sum(const OpCase& c, const std::vector<RefArray>& x, const RefArray& r) {
  const RefArray y = c.forward(x);
  double s = 0.0;
  for (std::int64_t i = 0; i < y.numel(); ++i) s += r[i] * y[i];
  return s;
}

void tier2(const OpCase& c) {
  core::Rng rng(4321);
  Inputs in = make_inputs(c, rng);
  std::vector<RefArray> x = in.ref;
  const RefArray y = c.forward(x);
  RefArray r(y.shape);
  for (auto& v : r.v) v = rng.uniform_double() * 2.0 - 1.0;
  const auto grads = c.backward(x, r);
  BOOST_REQUIRE_EQUAL(grads.size(), c.inputs.size());
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i].differentiable) continue;
    BOOST_REQUIRE_MESSAGE(
        grads[i].shape == x[i].shape,
        fmt::format("input {}: reference gradient has shape {}, input {}", i, grads[i].shape.str(), x[i].shape.str()));
    const std::int64_t n = x[i].numel();
    std::vector<std::int64_t> coords;
    if (n <= c.max_coords) {
      for (std::int64_t k = 0; k < n; ++k) coords.push_back(k);
    } else {
      for (int k = 0; k < c.max_coords; ++k)
        coords.push_back(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n))));
    }
    for (auto k : coords) {
      const double orig = x[i][k];
      x[i][k] = orig + c.fd_eps;
      const double lp = weighted_sum(c, x, r);
      x[i][k] = orig - c.fd_eps;
      const double lm = weighted_sum(c, x, r);
      x[i][k] = orig;
      const double num = (lp - lm) / (2 * c.fd_eps);
      const double ana = grads[i][k];
      const double scale = std::max({std::abs(num), std::abs(ana), 1.0});
      BOOST_TEST(std::abs(num - ana) <= c.fd_tol * scale,
                 fmt::format("input {} element {}: analytic {} vs numeric {}", i, k, ana, num));
    }
  }
}

std::string test_name(const OpCase& c, std::size_t index) {
  std::string n = c.op + "_" + std::to_string(index);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

bool init_unit_test() {
  using namespace boost::unit_test;
  auto* parity = BOOST_TEST_SUITE("reference_parity");
  auto* fd = BOOST_TEST_SUITE("finite_difference");
  const auto& cases = op_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const OpCase* c = &cases[i];
    const std::string name = test_name(*c, i);
    parity->add(make_test_case(
        [c] {
          BOOST_TEST_CONTEXT(c->op << " " << c->variant) { tier1(*c); }
        },
        name, __FILE__, __LINE__));
    if (c->backward)
      fd->add(make_test_case(
          [c] {
            BOOST_TEST_CONTEXT(c->op << " " << c->variant) { tier2(*c); }
          },
          name, __FILE__, __LINE__));
  }
  framework::master_test_suite().add(parity);
  framework::master_test_suite().add(fd);
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(op_table)

BOOST_AUTO_TEST_CASE(every_op_has_parity_and_finite_difference_checks) {
  std::map<std::string, bool> has_case, has_backward_case;
  for (const auto& c : op_cases()) {
    has_case[c.op] = true;
    if (c.backward) has_backward_case[c.op] = true;
  }
  std::set<std::string> known;
  for (const auto& op : ops::op_table()) {
    const std::string name(op.name);
    known.insert(name);
    BOOST_TEST(has_case[name], "op '" << name << "' has no reference-parity case");
    if (op.has_backward) BOOST_TEST(has_backward_case[name], "op '" << name << "' has no backward check");
  }
  for (const auto& c : op_cases()) BOOST_TEST(known.count(c.op) == 1u, "case for unregistered op '" << c.op << "'");
  BOOST_TEST(known.size() >= 6u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::testing

int main(int argc, char* argv[]) {
  return boost::unit_test::unit_test_main(&attnlab::testing::init_unit_test, argc, argv);
}
