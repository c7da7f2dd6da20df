#include "framework/ops/reference/rnn.h"
#include "framework/ops/rnn.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

OpCase rnn_case(ref::RnnCell cell, std::int64_t B, std::int64_t T, std::int64_t I, std::int64_t H, bool bidirectional) {
  const std::int64_t D = bidirectional ? 2 : 1, G = cell == ref::RnnCell::lstm ? 4 : 3;
  OpCase c;
  c.op = cell == ref::RnnCell::lstm ? "lstm" : "gru";
  c.variant = fmt::format("{} B={} T={} I={} H={}", bidirectional ? "bidirectional" : "unidirectional", B, T, I, H);
  c.inputs = {InputSpec::real({B, T, I}), InputSpec::real({D, G * H, I}, -0.6, 0.6),
              InputSpec::real({D, G * H, H}, -0.6, 0.6), InputSpec::real({D, G * H}, -0.5, 0.5),
              InputSpec::real({D, G * H}, -0.5, 0.5)};
  auto fn = cell == ref::RnnCell::lstm ? &ops::lstm : &ops::gru;
  c.run = [fn, bidirectional](const std::vector<Var>& x) { return fn(x[0], x[1], x[2], x[3], x[4], bidirectional); };
  c.forward = [cell](const std::vector<RefArray>& x) { return ref::rnn_forward(cell, x[0], x[1], x[2], x[3], x[4]); };
  c.backward = [cell](const std::vector<RefArray>& x, const RefArray& gy) {
    return ref::rnn_backward(cell, x[0], x[1], x[2], x[3], x[4], gy);
  };
  return c;
}

std::vector<OpCase> make() {
  using ref::RnnCell;
  return {
      rnn_case(RnnCell::lstm, 2, 3, 3, 4, false), rnn_case(RnnCell::lstm, 2, 4, 3, 5, true),
      rnn_case(RnnCell::lstm, 1, 1, 2, 3, true),  rnn_case(RnnCell::gru, 2, 4, 3, 4, false),
      rnn_case(RnnCell::gru, 2, 3, 3, 5, true),   rnn_case(RnnCell::gru, 1, 1, 2, 3, true),
  };
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
