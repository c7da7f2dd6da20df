#include "framework/ops/pool.h"
#include "framework/ops/reference/pool.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

// Max pools get distinct inputs: no ties, so the gradient's destination is unambiguous.
InputSpec input_for(bool is_max, Shape s) {
  return is_max ? InputSpec::custom(std::move(s), distinct()) : InputSpec::real(std::move(s));
}

OpCase pool1d_case(bool is_max, std::string variant, Shape x, ops::Pool1dOptions o) {
  OpCase c;
  c.op = is_max ? "max_pool1d" : "avg_pool1d";
  c.variant = fmt::format("{} x {}", variant, x.str());
  c.inputs = {input_for(is_max, std::move(x))};
  const ref::PoolGeom g = ref::pool1d_geom(o.kernel, o.stride == 0 ? o.kernel : o.stride, o.padding);
  c.run = [is_max, o](const std::vector<Var>& v) {
    return is_max ? ops::max_pool1d(v[0], o) : ops::avg_pool1d(v[0], o);
  };
  c.forward = [is_max, g](const std::vector<RefArray>& v) {
    const RefArray x4 = ref::unit_height(v[0]);
    return ref::no_height(is_max ? ref::max_pool2d(x4, g) : ref::avg_pool2d(x4, g));
  };
  c.backward = [is_max, g](const std::vector<RefArray>& v, const RefArray& gy) {
    const RefArray x4 = ref::unit_height(v[0]), gy4 = ref::unit_height(gy);
    return std::vector<RefArray>{
        ref::no_height(is_max ? ref::max_pool2d_backward(x4, g, gy4) : ref::avg_pool2d_backward(x4, g, gy4))};
  };
  return c;
}

OpCase pool2d_case(bool is_max, std::string variant, Shape x, ops::Pool2dOptions o) {
  OpCase c;
  c.op = is_max ? "max_pool2d" : "avg_pool2d";
  c.variant = fmt::format("{} x {}", variant, x.str());
  c.inputs = {input_for(is_max, std::move(x))};
  ref::PoolGeom g;
  g.kh = o.kernel[0];
  g.kw = o.kernel[1];
  g.sh = o.stride[0] == 0 ? o.kernel[0] : o.stride[0];
  g.sw = o.stride[1] == 0 ? o.kernel[1] : o.stride[1];
  g.ph = o.padding[0];
  g.pw = o.padding[1];
  c.run = [is_max, o](const std::vector<Var>& v) {
    return is_max ? ops::max_pool2d(v[0], o) : ops::avg_pool2d(v[0], o);
  };
  c.forward = [is_max, g](const std::vector<RefArray>& v) {
    return is_max ? ref::max_pool2d(v[0], g) : ref::avg_pool2d(v[0], g);
  };
  c.backward = [is_max, g](const std::vector<RefArray>& v, const RefArray& gy) {
    return std::vector<RefArray>{is_max ? ref::max_pool2d_backward(v[0], g, gy)
                                        : ref::avg_pool2d_backward(v[0], g, gy)};
  };
  return c;
}

OpCase global_case(bool is_max, Shape x) {
  OpCase c;
  c.op = is_max ? "global_max_pool" : "global_avg_pool";
  c.variant = x.str();
  c.inputs = {input_for(is_max, std::move(x))};
  c.run = [is_max](const std::vector<Var>& v) {
    return is_max ? ops::global_max_pool(v[0]) : ops::global_avg_pool(v[0]);
  };
  c.forward = [is_max](const std::vector<RefArray>& v) {
    return is_max ? ref::global_max_pool(v[0]) : ref::global_avg_pool(v[0]);
  };
  c.backward = [is_max](const std::vector<RefArray>& v, const RefArray& gy) {
    return std::vector<RefArray>{is_max ? ref::global_max_pool_backward(v[0], gy)
                                        : ref::global_avg_pool_backward(v[0], gy)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  for (bool is_max : {true, false}) {
    v.push_back(pool1d_case(is_max, "kernel 2 (non-overlapping)", {2, 3, 8}, {.kernel = 2}));
    v.push_back(pool1d_case(is_max, "kernel 3, stride 1 (overlapping)", {2, 2, 7}, {.kernel = 3, .stride = 1}));
    v.push_back(
        pool1d_case(is_max, "kernel 3, stride 2, padding 1", {1, 3, 9}, {.kernel = 3, .stride = 2, .padding = 1}));
    v.push_back(pool1d_case(is_max, "kernel 4, stride 3, padding 2, dropped tail", {1, 2, 11},
                            {.kernel = 4, .stride = 3, .padding = 2}));
    v.push_back(pool1d_case(is_max, "kernel 3, padding 1 (non-overlapping)", {2, 2, 7}, {.kernel = 3, .padding = 1}));
    v.push_back(pool2d_case(is_max, "kernel 2x2 (non-overlapping)", {2, 2, 6, 6}, {.kernel = {2, 2}}));
    v.push_back(
        pool2d_case(is_max, "kernel 3x3, stride 1 (overlapping)", {1, 2, 5, 5}, {.kernel = {3, 3}, .stride = {1, 1}}));
    v.push_back(pool2d_case(is_max, "kernel 3x2, stride 2, padding (1, 1)", {1, 3, 7, 6},
                            {.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 1}}));
    v.push_back(pool2d_case(is_max, "kernel 2x3, stride (1, 2), padding (0, 1), dropped tail", {2, 1, 5, 8},
                            {.kernel = {2, 3}, .stride = {1, 2}, .padding = {0, 1}}));
    v.push_back(global_case(is_max, {2, 3, 7}));
    v.push_back(global_case(is_max, {2, 3, 4, 5}));
    v.push_back(global_case(is_max, {1, 2, 2, 3, 2}));
  }
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
