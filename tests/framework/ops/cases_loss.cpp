#include "framework/ops/loss.h"
#include "framework/ops/reference/loss.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

// Targets in [0, c), a quarter of them replaced by `ignored` when `with_ignored`.
InputSpec targets(Shape s, std::int64_t c, bool with_ignored, std::int64_t ignored) {
  InputSpec t = InputSpec::index(std::move(s), 0, c);
  t.gen = [c, with_ignored, ignored](const Shape& sh, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(sh.numel()));
    for (auto& x : v)
      x = with_ignored && rng.uniform() < 0.25f ? static_cast<double>(ignored)
                                                : static_cast<double>(rng.below(static_cast<std::uint64_t>(c)));
    return v;
  };
  return t;
}

OpCase ce(Shape logits, bool with_ignored, std::int64_t ignore_index, float smoothing) {
  OpCase c;
  c.op = "softmax_cross_entropy";
  c.variant =
      fmt::format("{} ignored={} ignore_index={} smoothing={}", logits.str(), with_ignored, ignore_index, smoothing);
  const std::int64_t classes = logits[-1];
  Shape ts(std::vector<std::int64_t>(logits.begin(), logits.end() - 1));
  c.inputs = {InputSpec::real(logits, -3, 3), targets(std::move(ts), classes, with_ignored, ignore_index)};
  c.run = [ignore_index, smoothing](const std::vector<Var>& x) {
    return ops::softmax_cross_entropy(x[0], x[1].value(), ignore_index, smoothing);
  };
  const double s = smoothing;
  c.forward = [ignore_index, s](const std::vector<RefArray>& x) {
    return ref::cross_entropy(x[0], x[1], ignore_index, s);
  };
  c.backward = [ignore_index, s](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{ref::cross_entropy_backward(x[0], x[1], ignore_index, s, gy), RefArray(x[1].shape)};
  };
  return c;
}

// Weights: zero for about a fifth of the elements (masked out), else in [0.5, 2).
std::function<std::vector<double>(const Shape&, core::Rng&)> weights() {
  return [](const Shape& s, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(s.numel()));
    for (auto& x : v) x = rng.uniform() < 0.2f ? 0.0 : 0.5 + 1.5 * rng.uniform_double();
    return v;
  };
}

template <class F, class D>
OpCase elementwise(std::string op, Var (*fn)(const Var&, const core::Tensor&, const core::Tensor&), Shape s,
                   bool weighted, InputSpec x, InputSpec t, F f, D d) {
  OpCase c;
  c.op = std::move(op);
  c.variant = fmt::format("{} weighted={}", s.str(), weighted);
  c.inputs = {std::move(x), std::move(t)};
  if (weighted) c.inputs.push_back(InputSpec::custom(s, weights(), false));
  c.run = [fn, weighted](const std::vector<Var>& in) {
    return fn(in[0], in[1].value(), weighted ? in[2].value() : core::Tensor());
  };
  c.forward = [weighted, f](const std::vector<RefArray>& in) {
    return ref::weighted_mean(in[0], in[1], weighted ? &in[2] : nullptr, f);
  };
  c.backward = [weighted, d](const std::vector<RefArray>& in, const RefArray& gy) {
    std::vector<RefArray> g{ref::weighted_mean_backward(in[0], in[1], weighted ? &in[2] : nullptr, gy, d),
                            RefArray(in[1].shape)};
    if (weighted) g.emplace_back(in[2].shape);
    return g;
  };
  return c;
}

OpCase bce(Shape s, bool weighted) {
  return elementwise("bce_with_logits", &ops::bce_with_logits, s, weighted, InputSpec::real(s, -4, 4),
                     InputSpec::constant(s, 0, 1), ref::bce_term<double>, ref::bce_term_d<double>);
}

OpCase mse(Shape s, bool weighted) {
  return elementwise("mse_loss", &ops::mse_loss, s, weighted, InputSpec::real(s, -2, 2), InputSpec::constant(s, -2, 2),
                     ref::squared_error<double>, ref::squared_error_d<double>);
}

// Keeps |x - t| away from the kinks of l1 (0) and Huber (delta): differences uniform in ±[0.1, 0.9] ∪ ±[1.1, 2].
std::function<std::vector<double>(const Shape&, core::Rng&)> off_kinks() {
  return [](const Shape& s, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(s.numel()));
    for (auto& x : v) {
      const double m = rng.uniform() < 0.5f ? 0.1 + 0.8 * rng.uniform_double() : 1.1 + 0.9 * rng.uniform_double();
      x = rng.uniform() < 0.5f ? -m : m;
    }
    return v;
  };
}

// The target is zero so that x - t == x, which off_kinks() places.
OpCase l1(Shape s, bool weighted) {
  return elementwise("l1_loss", &ops::l1_loss, s, weighted, InputSpec::custom(s, off_kinks()),
                     InputSpec::constant(s, 0, 0), ref::absolute_error<double>, ref::absolute_error_d<double>);
}

Var huber_delta1(const Var& x, const core::Tensor& t, const core::Tensor& w) { return ops::huber_loss(x, t, 1.0f, w); }

OpCase huber(Shape s, bool weighted) {
  return elementwise(
      "huber_loss", &huber_delta1, s, weighted, InputSpec::custom(s, off_kinks()), InputSpec::constant(s, 0, 0),
      [](double x, double t) { return ref::huber<double>(x, t, 1.0); },
      [](double x, double t) { return ref::huber_d<double>(x, t, 1.0); });
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  v.push_back(ce({8, 10}, false, -100, 0.f));
  v.push_back(ce({16, 7}, true, -100, 0.f));
  v.push_back(ce({8, 10}, false, -100, 0.1f));
  v.push_back(ce({12, 9}, true, -100, 0.1f));
  v.push_back(ce({3, 4, 6}, true, 2, 0.1f));  // ignore_index inside [0, C), 3-D logits
  v.push_back(ce({2, 3, 5}, false, -100, 0.f));
  v.push_back(ce({5}, false, -100, 0.f));  // one row: target of shape []
  v.push_back(ce({32, 1000}, true, -100, 0.1f));
  v.push_back(bce({4, 5}, false));
  v.push_back(bce({3, 7}, true));
  v.push_back(bce({2, 3, 4}, true));
  v.push_back(mse({6, 4}, false));
  v.push_back(mse({2, 3, 5}, true));
  v.push_back(l1({6, 4}, false));
  v.push_back(l1({2, 3, 5}, true));
  v.push_back(huber({6, 4}, false));
  v.push_back(huber({2, 3, 5}, true));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
