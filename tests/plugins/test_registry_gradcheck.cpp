// The registry-wide gradient check: every registered extractor, attention, pooling and head plugin,
// built with its probe config (tests/plugins/probe.h) at probe sizes, passes the f32 end-to-end
// check of tests/support/gradcheck.h for its input and for every parameter. One case per plugin,
// registered at start-up from the registries, in the suite `registry_gradcheck`, named
// <family>_<name>; a plugin that lands later is covered without editing this file.
//
// What each case checks (B 3, T 5, width 8, padding mask with 0, 1 and 2 padded trailing steps):
//   extractor  x [B, T, 8] -> [B, T, out_dim()]                 w.r.t. x and every parameter
//   attention  x [B, T, 8], query [B, 8] -> [B, T, out] or [B, out]  w.r.t. x, query, parameters
//   pooling    x [B, T, 8] -> [B, out_dim()]                     w.r.t. x and every parameter
//   head       h [B, 8] -> predictions [B, 4], and loss(predictions, labels), both w.r.t. h and parameters
// Plugins are probed in eval() mode (no dropout), so the forward is deterministic.
//
// eps and tol: the checker's defaults, 3e-3 and 2e-2 (an entry of the override table may change
// them for one plugin). Measured on lstm, gru and seed_self: at eps 3e-3 every coordinate agrees
// within 1e-4 (f32 rounding noise in L, about 1e-7 / eps, and the O(eps^2) truncation are both far
// below the tolerance); the noise reaches ~1e-3 at eps 1e-4. A larger eps would cross more kinks.
// Kinks: inputs come from probe::distinct_values (pairwise more than 2 eps apart, at least 0.1
// from zero), so relu/max applied to them directly never straddles one; kinks of hidden
// pre-activations cannot be placed, so a failed check gets a kink-tolerant second opinion (below)
// that accepts a coordinate matching one of the one-sided differences.
//
// This file also holds test_plugins' main (test_plugins is built with OWN_MAIN): the suites
// `registry_gradcheck` and `composition` are built at start-up, after static initialisation
// has filled the registries.
#include <boost/test/unit_test.hpp>

#include "framework/core/error.h"
#include "framework/ops/ops.h"
#include "tests/plugins/probe.h"
#include "tests/support/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

namespace attnlab::testing {
namespace {

using autograd::Var;
using core::Shape;
using core::Tensor;
using probe::kBatch;
using probe::kDim;
using probe::kSeqLen;

GradcheckOptions options_for(const char* family, const std::string& name) {
  GradcheckOptions opt;
  if (const auto* o = probe::find_override(probe::overrides(), family, name)) {
    if (o->eps > 0) opt.eps = o->eps;
    if (o->tol > 0) opt.tol = o->tol;
  }
  return opt;
}

// The checked inputs, then every parameter of the plugin under its full name.
std::vector<Checked> checked(std::vector<Checked> inputs, const nn::Module& m) {
  for (auto& [name, v] : m.named_params()) inputs.push_back({"param " + name, v});
  return inputs;
}

// The second opinion after a failed gradcheck(): the same loss L = sum(r * y) and comparison on
// a fresh sample of coordinates, except that a coordinate whose central difference is off still
// passes when the analytic derivative matches one of the one-sided differences
// (L(x + e) - L(x)) / e or (L(x) - L(x - e)) / e. A relu or max kink within eps of the point
// spoils the central difference, but lies on one side only: the difference on the other side is
// clean (up to O(eps) truncation). A wrong gradient matches neither, since on smooth ground all
// three differences agree with the true derivative. At most a quarter of the coordinates may pass
// only one-sidedly: kinks are rare at these sizes, and a forward that is rough everywhere is not.
struct KinkTolerantResult {
  int checked = 0, one_sided = 0, failed = 0;
  std::string worst;
  double worst_excess = 0.0;
  bool ok() const { return checked > 0 && failed == 0 && 4 * one_sided <= checked; }
};

KinkTolerantResult kink_tolerant_check(const std::function<Var()>& forward, const std::vector<Checked>& tensors,
                                       const GradcheckOptions& opt) {
  core::Rng rng(opt.seed + 1);
  for (const auto& t : tensors) t.var.zero_grad();
  const Var y = forward();
  std::vector<float> r(static_cast<std::size_t>(y.value().numel()));
  for (auto& v : r) v = rng.uniform(-1.f, 1.f);
  y.backward(Tensor::from(r, y.shape()));

  autograd::NoGrad no_grad;
  const auto loss = [&] {
    const Tensor v = forward().value();
    double sum = 0.0;
    for (std::size_t i = 0; i < r.size(); ++i) sum += static_cast<double>(v.f32()[i]) * r[i];
    return sum;
  };
  const double l0 = loss();
  KinkTolerantResult res;
  for (const auto& t : tensors) {
    const Tensor& g = t.var.grad();
    float* x = const_cast<float*>(t.var.value().f32());
    const std::int64_t n = t.var.value().numel();
    for (std::int64_t c = 0; c < std::min<std::int64_t>(n, opt.max_coords); ++c) {
      const std::int64_t k =
          n <= opt.max_coords ? c : static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
      const float orig = x[k];
      x[k] = orig + static_cast<float>(opt.eps);
      const double up = static_cast<double>(x[k]) - orig, lp = loss();  // the steps actually taken in f32
      x[k] = orig - static_cast<float>(opt.eps);
      const double down = orig - static_cast<double>(x[k]), lm = loss();
      x[k] = orig;
      const double a = g.defined() ? g.f32()[k] : 0.0;
      const auto excess = [&](double num) {
        return std::abs(a - num) - opt.tol * std::max({std::abs(a), std::abs(num), 1.0});
      };
      const double central = excess((lp - lm) / (up + down));
      ++res.checked;
      if (central <= 0) continue;
      if (excess((lp - l0) / up) <= 0 || excess((l0 - lm) / down) <= 0) {
        ++res.one_sided;
        continue;
      }
      ++res.failed;
      if (res.worst.empty() || central > res.worst_excess || std::isnan(central)) {
        res.worst_excess = central;
        res.worst = fmt::format("{}[{}]: analytic {} vs central {}, one-sided {} and {}", t.name, k, a,
                                (lp - lm) / (up + down), (lp - l0) / up, (l0 - lm) / down);
      }
    }
  }
  return res;
}

void expect_passes(const std::function<Var()>& forward, const std::vector<Checked>& tensors,
                   const GradcheckOptions& opt, const std::string& what) {
  const GradcheckResult r = gradcheck(forward, tensors, opt);
  if (r.ok()) return;
  const KinkTolerantResult k = kink_tolerant_check(forward, tensors, opt);
  BOOST_TEST(k.ok(), what << ": " << r.failed << " of " << r.checked << " coordinates off (eps " << opt.eps << ", tol "
                          << opt.tol << "); worst " << r.worst << ". Kink-tolerant second opinion: " << k.failed
                          << " of " << k.checked << " off, " << k.one_sided << " only one-sided"
                          << (k.worst.empty() ? "" : "; worst " + k.worst));
  if (k.ok())
    BOOST_TEST_MESSAGE(what << ": passed the kink-tolerant check (" << k.one_sided << " of " << k.checked
                            << " coordinates one-sided) after gradcheck failed at " << r.worst);
}

Var leaf(const Shape& shape, core::Rng& rng) { return Var(probe::distinct_values(shape, rng), true); }

void check_extractor(const std::string& name) {
  core::Rng rng(11);
  auto p = probe::build<model::Extractor>(name, probe::context<model::Extractor>(rng));
  p->eval();
  const Var x = leaf(Shape{kBatch, kSeqLen, kDim}, rng);
  const Tensor mask = probe::padding_mask();
  BOOST_TEST(p->forward(x, mask).shape() == (Shape{kBatch, kSeqLen, p->out_dim()}));
  expect_passes([&] { return p->forward(x, mask); }, checked({{"x", x}}, *p), options_for("extractor", name),
                "forward");
}

void check_attention(const std::string& name) {
  core::Rng rng(12);
  auto p = probe::build<model::Attention>(name, probe::context<model::Attention>(rng));
  p->eval();
  const Var x = leaf(Shape{kBatch, kSeqLen, kDim}, rng);
  const Var query = leaf(Shape{kBatch, probe::kQueryDim}, rng);
  const Tensor mask = probe::padding_mask();
  const Shape want = p->pools() ? Shape{kBatch, p->out_dim()} : Shape{kBatch, kSeqLen, p->out_dim()};
  BOOST_TEST(p->forward(x, mask, query).shape() == want);
  // A query the plugin ignores gets no gradient; the checker then takes 0 as analytic, which the
  // central differences (0 too) confirm.
  expect_passes([&] { return p->forward(x, mask, query); }, checked({{"x", x}, {"query", query}}, *p),
                options_for("attention", name), "forward");
}

void check_pooling(const std::string& name) {
  core::Rng rng(13);
  auto p = probe::build<model::Pooling>(name, probe::context<model::Pooling>(rng));
  p->eval();
  const Var x = leaf(Shape{kBatch, kSeqLen, kDim}, rng);
  const Tensor mask = probe::padding_mask();
  BOOST_TEST(p->forward(x, mask).shape() == (Shape{kBatch, p->out_dim()}));
  expect_passes([&] { return p->forward(x, mask); }, checked({{"x", x}}, *p), options_for("pooling", name), "forward");
}

// Class ids in [0, num_outputs) when the head's loss takes i64 labels, else f32 targets in
// (0, 1) of the predictions' shape (regression and binary heads).
Tensor labels_for(model::Head& head, const Var& predictions, core::Rng& rng) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(kBatch));
  for (auto& id : ids) id = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(probe::kNumOutputs)));
  Tensor labels = Tensor::from_i64(ids, Shape{kBatch});
  try {
    autograd::NoGrad no_grad;
    head.loss(predictions, labels);
    return labels;
  } catch (const DTypeError&) {
    std::vector<float> t(static_cast<std::size_t>(predictions.value().numel()));
    for (auto& v : t) v = rng.uniform(0.1f, 0.9f);
    return Tensor::from(t, predictions.shape());
  }
}

void check_head(const std::string& name) {
  core::Rng rng(14);
  auto p = probe::build<model::Head>(name, probe::context<model::Head>(rng));
  p->eval();
  const Var h = leaf(Shape{kBatch, kDim}, rng);
  const Var predictions = p->forward(h);
  BOOST_TEST((predictions.rank() >= 1 && predictions.shape()[0] == kBatch),
             "predictions " << predictions.shape().str());
  const Tensor labels = labels_for(*p, predictions, rng);
  BOOST_TEST(p->loss(predictions, labels).value().numel() == 1);
  if (!predictions.requires_grad()) {  // a baseline (popularity, random): nothing to differentiate, nothing to train
    BOOST_TEST(p->params().empty(), "head '" << name << "' predicts without a gradient but has parameters");
    BOOST_TEST(!p->train_loss(h, labels).requires_grad());
    return;
  }
  const auto opt = options_for("head", name);
  const auto tensors = checked({{"h", h}}, *p);
  expect_passes([&] { return p->forward(h); }, tensors, opt, "forward");
  expect_passes([&] { return p->loss(p->forward(h), labels); }, tensors, opt, "loss");
}

// Multi-task structures: x [B, dim] -> one [B, out] per task, checked through their concatenation.
void check_multitask(const std::string& name) {
  core::Rng rng(15);
  auto p = probe::build<model::MultiTask>(name, probe::context<model::MultiTask>(rng));
  p->eval();
  const Var x = leaf(Shape{kBatch, kDim}, rng);
  const auto outs = p->forward(x);
  BOOST_TEST(outs.size() == 2u);
  for (const auto& o : outs) BOOST_TEST(o.shape() == (Shape{kBatch, p->out_dim()}));
  expect_passes([&] { return ops::concat(p->forward(x), 1); }, checked({{"x", x}}, *p), options_for("multitask", name),
                "forward");
}

// Loss weightings: the combined loss of two task losses, w.r.t. the losses and the weighting's own
// parameters (uncertainty's log-variances, GradNorm's weights).
void check_weighting(const std::string& name) {
  core::Rng rng(16);
  auto p = probe::build<model::Weighting>(name, probe::context<model::Weighting>(rng));
  const Var l1(Tensor::full(Shape{}, 0.7f), true), l2(Tensor::full(Shape{}, 1.3f), true);
  BOOST_TEST(p->combine({l1, l2}).value().numel() == 1);
  BOOST_TEST(p->weights().size() == 2u);
  // GradNorm trains its task weights with its own objective inside backward() (checked by hand in
  // tests/plugins/weighting/test_gradnorm.cpp); combine() treats them as constants by design.
  static const std::set<std::string> kWeightsTrainedOutsideCombine{"gradnorm"};
  auto tensors = kWeightsTrainedOutsideCombine.count(name)
                     ? std::vector<testing::Checked>{{"loss_a", l1}, {"loss_b", l2}}
                     : checked({{"loss_a", l1}, {"loss_b", l2}}, *p);
  expect_passes([&] { return p->combine({l1, l2}); }, tensors, options_for("weighting", name), "combine");
}

template <class Base>
void add_family(boost::unit_test::test_suite& suite, void (*check)(const std::string&)) {
  for (const auto* e : registry::Registry<Base>::get().entries()) {
    const std::string name = e->name;
    const std::string id = std::string(Base::kFamily) + "/" + name;
    suite.add(boost::unit_test::make_test_case(
        [check, name, id] {
          BOOST_TEST_CONTEXT(id) { check(name); }
        },
        probe::test_name(std::string(Base::kFamily) + "_" + name), __FILE__, __LINE__));
  }
}

// Builds every plugin of the family with spec(name, table) at probe sizes; returns one line per
// plugin that does not build, and per table entry of this family naming no registered plugin.
template <class Base>
void collect_unbuildable(const std::vector<probe::Override>& table, std::vector<std::string>& problems) {
  const auto& reg = registry::Registry<Base>::get();
  for (const auto& name : reg.names()) {
    core::Rng rng(1);
    try {
      probe::build<Base>(name, probe::context<Base>(rng), table);
    } catch (const std::exception& x) {
      problems.push_back(fmt::format(
          "{} '{}' does not build at probe sizes {}: {}; add or fix its entry in the override "
          "table (tests/plugins/probe.h)",
          Base::kFamily, name,
          probe::find_override(table, Base::kFamily, name) ? "with its table entry" : "with its defaults", x.what()));
    }
  }
  for (const auto& o : table)
    if (o.family == Base::kFamily && !reg.find(o.name))
      problems.push_back(fmt::format("the override table names {} '{}', which is not registered", o.family, o.name));
}

std::vector<std::string> unbuildable(const std::vector<probe::Override>& table) {
  std::vector<std::string> problems;
  collect_unbuildable<model::Extractor>(table, problems);
  collect_unbuildable<model::Attention>(table, problems);
  collect_unbuildable<model::Pooling>(table, problems);
  collect_unbuildable<model::Head>(table, problems);
  collect_unbuildable<model::MultiTask>(table, problems);
  collect_unbuildable<model::Weighting>(table, problems);
  for (const auto& o : table)
    if (o.family != "extractor" && o.family != "attention" && o.family != "pooling" && o.family != "head" &&
        o.family != "multitask" && o.family != "weighting")
      problems.push_back(
          fmt::format("the override table names the family '{}' (plugin '{}'), which is not probed", o.family, o.name));
  return problems;
}

bool init_unit_test() {
  using namespace boost::unit_test;
  framework::master_test_suite().p_name.value = "attnlab_plugins";
  auto* suite = BOOST_TEST_SUITE("registry_gradcheck");
  add_family<model::Extractor>(*suite, check_extractor);
  add_family<model::Attention>(*suite, check_attention);
  add_family<model::Pooling>(*suite, check_pooling);
  add_family<model::Head>(*suite, check_head);
  add_family<model::MultiTask>(*suite, check_multitask);
  add_family<model::Weighting>(*suite, check_weighting);
  framework::master_test_suite().add(suite);
  framework::master_test_suite().add(probe::make_composition_suite());
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_probe)

BOOST_AUTO_TEST_CASE(every_plugin_builds_at_probe_sizes) {
  const auto problems = unbuildable(probe::overrides());
  BOOST_TEST(problems.empty(), fmt::format("{}", fmt::join(problems, "\n")));
}

BOOST_AUTO_TEST_CASE(every_probed_family_has_plugins) {
  BOOST_TEST(!registry::Registry<model::Extractor>::get().names().empty());
  BOOST_TEST(!registry::Registry<model::Attention>::get().names().empty());
  BOOST_TEST(!registry::Registry<model::Pooling>::get().names().empty());
  BOOST_TEST(!registry::Registry<model::Head>::get().names().empty());
}

BOOST_AUTO_TEST_CASE(an_unbuildable_plugin_or_a_stale_entry_is_reported) {
  const std::vector<probe::Override> table = {
      {"extractor", "lstm", "{hidden: 0}", 0, 0, "out of bounds"},
      {"attention", "no_such_attention", "", 0, 0, "not registered"},
      {"optimizer", "adam", "", 0, 0, "not a probed family"},
  };
  const auto problems =
      unbuildable(table);  // may also hold problems of real plugins: every_plugin_builds... reports those
  const auto reported = [&](const std::string& a, const std::string& b) {
    return std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
      return p.find(a) != std::string::npos && p.find(b) != std::string::npos;
    });
  };
  const std::string all = fmt::format("{}", fmt::join(problems, "\n"));
  BOOST_TEST(reported("extractor 'lstm' does not build at probe sizes with its table entry", "hidden"), all);
  BOOST_TEST(reported("the override table names attention 'no_such_attention', which is not registered", ""), all);
  BOOST_TEST(reported("the override table names the family 'optimizer'", ""), all);
}

BOOST_AUTO_TEST_CASE(table_entries_are_merged_over_the_defaults) {
  const std::vector<probe::Override> table = {{"extractor", "lstm", "{hidden: 3, bidirectional: true}", 0, 0, "test"}};
  core::Rng rng(2);
  BOOST_TEST(probe::build<model::Extractor>("lstm", probe::context<model::Extractor>(rng), table)->out_dim() == 6);
  const auto resolved = probe::spec<model::Extractor>("lstm", table).resolved;
  BOOST_TEST(resolved.find("layers")->text() == "1");  // untouched fields keep their defaults
  BOOST_CHECK_THROW(probe::spec<model::Extractor>("no_such_extractor"), registry::PluginError);
}

BOOST_AUTO_TEST_CASE(the_second_opinion_accepts_a_kink_but_not_a_wrong_gradient) {
  // relu with one input 1e-3 from its kink: the central difference straddles it, one side does not.
  const Var x(Tensor::from(std::vector<float>{1e-3f, 0.5f, -0.7f, 0.3f, -0.2f, 0.9f, -0.4f, 0.6f}, Shape{8}), true);
  const std::vector<Checked> tensors = {{"x", x}};
  const auto kinked = [&] { return ops::relu(x); };
  BOOST_TEST(!gradcheck(kinked, tensors).ok());
  const auto k = kink_tolerant_check(kinked, tensors, {});
  BOOST_TEST(k.ok(), k.worst);
  BOOST_TEST(k.one_sided == 1);

  // d(x * detach(x))/dx is x, not 2x: wrong everywhere, and no one-sided difference agrees.
  const auto wrong = [&] { return x * x.detach() * 4.f; };
  BOOST_TEST(!kink_tolerant_check(wrong, tensors, {}).ok());
}

BOOST_AUTO_TEST_CASE(probe_inputs_are_distinct_and_off_zero) {
  core::Rng rng(3);
  auto v = probe::distinct_values(Shape{kBatch, kSeqLen, kDim}, rng).to_vector();
  for (float x : v) BOOST_TEST(std::abs(x) >= 0.1f);
  std::sort(v.begin(), v.end());
  for (std::size_t i = 1; i < v.size(); ++i) BOOST_TEST(v[i] - v[i - 1] >= 0.0074f);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab::testing

int main(int argc, char* argv[]) {
  return boost::unit_test::unit_test_main(&attnlab::testing::init_unit_test, argc, argv);
}
