#include "framework/ops/conv.h"
#include "framework/ops/reference/conv.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

std::vector<RefArray> grads_of(const ref::ConvGrads<double>& d, bool bias) {
  std::vector<RefArray> g{d.x, d.w};
  if (bias) g.push_back(d.b);
  return g;
}

OpCase conv1d_case(std::string variant, Shape x, Shape w, bool bias, ops::Conv1dOptions o) {
  OpCase c;
  c.op = "conv1d";
  c.variant = fmt::format("{} x {} w {}{}", variant, x.str(), w.str(), bias ? " +b" : "");
  const std::int64_t out_channels = w[0];
  c.inputs = {InputSpec::real(std::move(x)), InputSpec::real(std::move(w))};
  if (bias) c.inputs.push_back(InputSpec::real(Shape{out_channels}));
  const ref::Conv1dGeom g{o.stride, o.pad_left, o.pad_right, o.dilation};
  c.run = [o](const std::vector<Var>& v) { return ops::conv1d(v[0], v[1], v.size() > 2 ? v[2] : Var(), o); };
  c.forward = [g](const std::vector<RefArray>& v) {
    return ref::conv1d(v[0], v[1], v.size() > 2 ? v[2] : RefArray(), g);
  };
  c.backward = [g, bias](const std::vector<RefArray>& v, const RefArray& gy) {
    return grads_of(ref::conv1d_backward(v[0], v[1], bias, g, gy), bias);
  };
  return c;
}

// [A, B, C] <-> [A, C, B]: the channels-last layout of a 1-D convolution's x and y.
RefArray swap_last(const RefArray& a) {
  const std::int64_t A = a.shape[0], B = a.shape[1], C = a.shape[2];
  RefArray r(Shape{A, C, B});
  for (std::int64_t i = 0; i < A; ++i)
    for (std::int64_t j = 0; j < B; ++j)
      for (std::int64_t k = 0; k < C; ++k) r[(i * C + k) * B + j] = a[(i * B + j) * C + k];
  return r;
}

// The same convolution with x [N, W, C] and y [N, W_out, O]; the reference runs it channels-first.
OpCase conv1d_channels_last_case(std::string variant, Shape x_ncw, Shape w, bool bias, ops::Conv1dOptions o) {
  o.channels_last = true;
  OpCase c = conv1d_case(std::move(variant), Shape{x_ncw[0], x_ncw[2], x_ncw[1]}, std::move(w), bias, o);
  c.variant = "channels last, " + c.variant;
  const ref::Conv1dGeom g{o.stride, o.pad_left, o.pad_right, o.dilation};
  c.forward = [g](const std::vector<RefArray>& v) {
    return swap_last(ref::conv1d(swap_last(v[0]), v[1], v.size() > 2 ? v[2] : RefArray(), g));
  };
  c.backward = [g, bias](const std::vector<RefArray>& v, const RefArray& gy) {
    auto d = ref::conv1d_backward(swap_last(v[0]), v[1], bias, g, swap_last(gy));
    d.x = swap_last(d.x);
    return grads_of(d, bias);
  };
  return c;
}

OpCase conv2d_case(std::string variant, Shape x, Shape w, bool bias, ops::Conv2dOptions o) {
  OpCase c;
  c.op = "conv2d";
  c.variant = fmt::format("{} x {} w {}{}", variant, x.str(), w.str(), bias ? " +b" : "");
  const std::int64_t out_channels = w[0];
  c.inputs = {InputSpec::real(std::move(x)), InputSpec::real(std::move(w))};
  if (bias) c.inputs.push_back(InputSpec::real(Shape{out_channels}));
  ref::ConvGeom g;
  g.stride_h = o.stride[0];
  g.stride_w = o.stride[1];
  g.pad_top = g.pad_bottom = o.padding[0];
  g.pad_left = g.pad_right = o.padding[1];
  g.dil_h = o.dilation[0];
  g.dil_w = o.dilation[1];
  c.run = [o](const std::vector<Var>& v) { return ops::conv2d(v[0], v[1], v.size() > 2 ? v[2] : Var(), o); };
  c.forward = [g](const std::vector<RefArray>& v) {
    return ref::conv2d(v[0], v[1], v.size() > 2 ? v[2] : RefArray(), g);
  };
  c.backward = [g, bias](const std::vector<RefArray>& v, const RefArray& gy) {
    return grads_of(ref::conv2d_backward(v[0], v[1], bias, g, gy), bias);
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  v.push_back(conv1d_case("plain", {2, 3, 9}, {4, 3, 3}, true, {}));
  v.push_back(
      conv1d_case("stride 2, padding 1", {2, 3, 10}, {5, 3, 3}, true, {.stride = 2, .pad_left = 1, .pad_right = 1}));
  v.push_back(conv1d_case("dilation 2, padding 2", {1, 4, 11}, {3, 4, 3}, true,
                          {.pad_left = 2, .pad_right = 2, .dilation = 2}));
  v.push_back(conv1d_case("causal, dilation 2", {2, 3, 8}, {4, 3, 3}, true, {.pad_left = 4, .dilation = 2}));
  v.push_back(conv1d_case("causal, no bias", {2, 5, 7}, {3, 5, 2}, false, {.pad_left = 1}));
  v.push_back(conv1d_case("stride 3 with a dropped tail, padding (0, 2)", {1, 2, 10}, {2, 2, 4}, true,
                          {.stride = 3, .pad_right = 2}));
  v.push_back(conv1d_case("pointwise", {3, 6, 5}, {4, 6, 1}, false, {}));
  v.push_back(
      conv1d_case("wide channels", {2, 20, 12}, {17, 20, 3}, true, {.stride = 1, .pad_left = 1, .pad_right = 1}));
  v.push_back(conv1d_channels_last_case("same padding", {2, 3, 9}, {4, 3, 3}, true, {.pad_left = 1, .pad_right = 1}));
  v.push_back(conv1d_channels_last_case("causal, dilation 2, no bias", {2, 5, 8}, {3, 5, 3}, false,
                                        {.pad_left = 4, .dilation = 2}));
  v.push_back(conv1d_channels_last_case("stride 2, padding (1, 2), wide", {3, 20, 11}, {17, 20, 4}, true,
                                        {.stride = 2, .pad_left = 1, .pad_right = 2}));
  v.push_back(conv2d_case("plain", {2, 3, 6, 5}, {4, 3, 3, 3}, true, {}));
  v.push_back(conv2d_case("stride (2, 1), padding (1, 2)", {1, 2, 7, 6}, {3, 2, 3, 2}, true,
                          {.stride = {2, 1}, .padding = {1, 2}}));
  v.push_back(conv2d_case("dilation (2, 1), stride (1, 2), padding (2, 0), no bias", {2, 2, 7, 7}, {2, 2, 3, 3}, false,
                          {.stride = {1, 2}, .padding = {2, 0}, .dilation = {2, 1}}));
  v.push_back(conv2d_case("pointwise", {2, 5, 3, 4}, {3, 5, 1, 1}, true, {}));
  v.push_back(conv2d_case("wide channels, padding 1", {1, 16, 6, 6}, {20, 16, 3, 3}, true, {.padding = {1, 1}}));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
