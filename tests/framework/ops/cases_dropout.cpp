#include "framework/ops/dropout.h"
#include "framework/ops/reference/dropout.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

// The run lambda and the reference each start a fresh Rng(seed), so both see the same mask.
OpCase make_case(Shape s, float p, bool training, std::uint64_t seed) {
  OpCase c;
  c.op = "dropout";
  c.variant = fmt::format("{} p={} training={}", s.str(), p, training);
  c.inputs = {InputSpec::real(s)};
  c.run = [p, training, seed](const std::vector<Var>& x) {
    core::Rng rng(seed);
    return ops::dropout(x[0], p, training, rng);
  };
  c.forward = [p, training, seed](const std::vector<RefArray>& x) {
    core::Rng rng(seed);
    return ref::apply_mask(x[0], ref::dropout_mask<double>(x[0].shape, p, training, rng));
  };
  c.backward = [p, training, seed](const std::vector<RefArray>& x, const RefArray& gy) {
    core::Rng rng(seed);
    return std::vector<RefArray>{ref::apply_mask(gy, ref::dropout_mask<double>(x[0].shape, p, training, rng))};
  };
  // Same mask: dropped elements must be exactly 0 and kept ones agree to f32 rounding.
  c.rtol = 1e-6;
  c.atol = 0.0;
  return c;
}

std::vector<OpCase> make() {
  return {make_case({4, 50}, 0.3f, true, 7), make_case({2, 3, 17}, 0.3f, true, 99), make_case({4, 50}, 0.3f, false, 7),
          make_case({9}, 0.f, true, 3), make_case({3, 40}, 0.9f, true, 11)};
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
