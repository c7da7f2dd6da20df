#include "framework/ops/mask.h"
#include "framework/ops/reference/mask.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

constexpr double kFill = -2.5;

// An f32 mask: 0 (keep) or a non-zero value (1 or -2: anything non-zero fills).
std::vector<double> float_mask(const Shape& s, core::Rng& rng) {
  std::vector<double> v(static_cast<std::size_t>(s.numel()));
  for (auto& m : v) m = rng.bernoulli(0.6f) ? 0.0 : (rng.bernoulli(0.5f) ? 1.0 : -2.0);
  return v;
}

OpCase masked(Shape x, Shape mask, bool integer_mask, std::string note = "") {
  OpCase c;
  c.op = "masked_fill";
  c.variant = fmt::format("x {} mask {} {}{}", x.str(), mask.str(), integer_mask ? "i64" : "f32", note);
  if (x.numel() > 10000) c.max_coords = 16;
  c.inputs = {InputSpec::real(std::move(x)), integer_mask ? InputSpec::index(std::move(mask), 0, 3)
                                                          : InputSpec::custom(std::move(mask), float_mask, false)};
  c.run = [](const std::vector<Var>& in) { return ops::masked_fill(in[0], in[1].value(), static_cast<float>(kFill)); };
  c.forward = [](const std::vector<RefArray>& in) { return ref::masked_fill(in[0], in[1], kFill); };
  c.backward = [](const std::vector<RefArray>& in, const RefArray& gy) {
    return std::vector<RefArray>{ref::masked_fill_grad(in[1], gy), RefArray(in[1].shape)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (bool integer : {false, true}) {
    v.push_back(masked({3, 5}, {3, 5}, integer, " ([B,T] with [B,T])"));
    v.push_back(masked({2, 4, 6}, {2, 1, 6}, integer, " ([B,H,T] with [B,1,T])"));
    v.push_back(masked({2, 3, 5, 5}, {5, 5}, integer, " (causal-style [T,T])"));
    v.push_back(masked({2, 3, 4, 7}, {2, 1, 1, 7}, integer, " (key padding [B,1,1,T])"));
    v.push_back(masked({8, 4, 40, 40}, {8, 1, 1, 40}, integer, " (large)"));
  }
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
