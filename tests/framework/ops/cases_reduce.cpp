#include "framework/ops/reduce.h"
#include "framework/ops/reference/reduce.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

enum class Kind { sum, mean, max };

OpCase reduction(Kind k, Shape s, int axis, bool keepdim, std::string note = "") {
  static const char* const names[] = {"sum", "mean", "max"};
  OpCase c;
  c.op = names[static_cast<int>(k)];
  c.variant = fmt::format("{} axis={} keepdim={}{}", s.str(), axis, keepdim, note);
  if (s.numel() > 10000) c.max_coords = 16;
  // max: distinct values, so that a finite difference never swaps the maximal element.
  c.inputs = {k == Kind::max ? InputSpec::custom(std::move(s), distinct()) : InputSpec::real(std::move(s))};
  c.run = [k, axis, keepdim](const std::vector<Var>& x) {
    switch (k) {
      case Kind::sum:
        return ops::sum(x[0], axis, keepdim);
      case Kind::mean:
        return ops::mean(x[0], axis, keepdim);
      case Kind::max:
        break;
    }
    return ops::max(x[0], axis, keepdim);
  };
  c.forward = [k, axis, keepdim](const std::vector<RefArray>& x) {
    return k == Kind::max ? ref::max_axis(x[0], axis, keepdim) : ref::sum_axis(x[0], axis, keepdim, k == Kind::mean);
  };
  c.backward = [k, axis, keepdim](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{k == Kind::max ? ref::max_axis_grad(x[0], axis, keepdim, gy)
                                                : ref::sum_axis_grad(x[0], axis, keepdim, k == Kind::mean, gy)};
  };
  return c;
}

OpCase reduce_all(bool mean, Shape s, std::string note = "") {
  OpCase c;
  c.op = mean ? "mean_all" : "sum_all";
  c.variant = s.str() + note;
  if (s.numel() > 10000) c.max_coords = 16;
  c.inputs = {InputSpec::real(std::move(s))};
  c.run = [mean](const std::vector<Var>& x) { return mean ? ops::mean_all(x[0]) : ops::sum_all(x[0]); };
  c.forward = [mean](const std::vector<RefArray>& x) { return ref::sum_all(x[0], mean); };
  c.backward = [mean](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{ref::sum_all_grad(x[0], mean, gy)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (Kind k : {Kind::sum, Kind::mean, Kind::max}) {
    for (int axis = 0; axis < 3; ++axis)
      for (bool keepdim : {false, true}) v.push_back(reduction(k, {2, 3, 4}, axis, keepdim));
    v.push_back(reduction(k, {3, 5}, -1, false, " (negative axis)"));
    v.push_back(reduction(k, {4, 1, 3}, -2, true, " (size-1 axis)"));
    v.push_back(reduction(k, {7}, 0, false, " (to rank 0)"));
    v.push_back(reduction(k, {2000, 40}, 0, false, " (chunked partial sums)"));
    v.push_back(reduction(k, {3, 20000}, 0, true, " (large output, split columns)"));
    v.push_back(reduction(k, {40, 2000}, 1, false, " (long rows)"));
    v.push_back(reduction(k, {16, 300, 4}, 1, false, " (parallel slices)"));
  }
  for (bool mean : {false, true}) {
    v.push_back(reduce_all(mean, {3, 4, 5}));
    v.push_back(reduce_all(mean, {}, " (rank 0)"));
    v.push_back(reduce_all(mean, {1, 1}));
    v.push_back(reduce_all(mean, {300, 257}, " (chunked)"));
  }
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
