#include "framework/ops/layer_norm.h"
#include "framework/ops/reference/layer_norm.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

// Inputs: x, then gamma if `scale`, then beta if `shift`.
OpCase make_case(Shape s, bool scale, bool shift, float eps = 1e-5f) {
  OpCase c;
  c.op = "layer_norm";
  c.variant = fmt::format("{} gamma={} beta={} eps={}", s.str(), scale, shift, eps);
  const Shape p{s[-1]};
  c.inputs = {InputSpec::real(s, -2, 2)};
  if (scale) c.inputs.push_back(InputSpec::real(p, 0.5, 1.5));
  if (shift) c.inputs.push_back(InputSpec::real(p, -1, 1));
  const std::size_t ib = scale ? 2 : 1;
  c.run = [scale, shift, ib, eps](const std::vector<Var>& x) {
    return ops::layer_norm(x[0], scale ? x[1] : Var(), shift ? x[ib] : Var(), eps);
  };
  c.forward = [scale, shift, ib, eps](const std::vector<RefArray>& x) {
    return ref::layer_norm<double>(x[0], scale ? &x[1] : nullptr, shift ? &x[ib] : nullptr, eps);
  };
  c.backward = [scale, shift, eps](const std::vector<RefArray>& x, const RefArray& gy) {
    auto g = ref::layer_norm_backward<double>(x[0], scale ? &x[1] : nullptr, eps, gy);
    std::vector<RefArray> out{std::move(g.x)};
    if (scale) out.push_back(std::move(g.gamma));
    if (shift) out.push_back(std::move(g.beta));
    return out;
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (Shape s : {Shape{5, 16}, Shape{2, 3, 24}}) {
    v.push_back(make_case(s, true, true));
    v.push_back(make_case(s, false, false));
    v.push_back(make_case(s, true, false));
    v.push_back(make_case(s, false, true));
  }
  v.push_back(make_case({4, 100}, true, true, 1e-3f));
  v.push_back(make_case({7}, true, true));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
