#include "framework/ops/reference/shape_ops.h"
#include "framework/ops/shape_ops.h"
#include "tests/support/op_case.h"

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

std::string ints(const std::vector<int>& v) { return fmt::format("({})", fmt::join(v, ",")); }

int norm(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

// An op whose only differentiable input is x and whose forward/backward are moves of elements.
OpCase unary_case(std::string op, std::string variant, Shape in, std::function<Var(const Var&)> run,
                  std::function<RefArray(const RefArray&)> f,
                  std::function<RefArray(const RefArray&, const RefArray&)> b) {
  OpCase c;
  c.op = std::move(op);
  c.variant = std::move(variant);
  c.inputs = {InputSpec::real(std::move(in))};
  c.run = [run](const std::vector<Var>& x) { return run(x[0]); };
  c.forward = [f](const std::vector<RefArray>& x) { return f(x[0]); };
  c.backward = [b](const std::vector<RefArray>& x, const RefArray& gy) { return std::vector<RefArray>{b(x[0], gy)}; };
  return c;
}

// reshape-like ops: the values keep their order, the gradient is reshaped back.
OpCase view_case(std::string op, Shape in, Shape out, std::string attr, std::function<Var(const Var&)> run) {
  std::string variant = fmt::format("{} {} -> {}", in.str(), attr, out.str());
  return unary_case(
      std::move(op), std::move(variant), in, std::move(run), [out](const RefArray& x) { return ref::reshape(x, out); },
      [](const RefArray& x, const RefArray& gy) { return ref::reshape(gy, x.shape); });
}

OpCase permute_case(Shape in, std::vector<int> perm) {
  std::vector<int> p = perm;
  for (auto& a : p) a = norm(a, in.rank());
  return unary_case(
      "permute", fmt::format("{} perm {}", in.str(), ints(perm)), in,
      [perm](const Var& x) { return ops::permute(x, perm); }, [p](const RefArray& x) { return ref::permute(x, p); },
      [p](const RefArray&, const RefArray& gy) { return ref::permute_backward(gy, p); });
}

OpCase transpose_case(Shape in, int a, int b) {
  std::vector<int> p;
  for (int i = 0; i < in.rank(); ++i) p.push_back(i);
  std::swap(p[static_cast<std::size_t>(norm(a, in.rank()))], p[static_cast<std::size_t>(norm(b, in.rank()))]);
  return unary_case(
      "transpose", fmt::format("{} ({}, {})", in.str(), a, b), in,
      [a, b](const Var& x) { return ops::transpose(x, a, b); }, [p](const RefArray& x) { return ref::permute(x, p); },
      [p](const RefArray&, const RefArray& gy) { return ref::permute_backward(gy, p); });
}

OpCase slice_case(Shape in, int axis, std::int64_t start, std::int64_t end) {
  const int a = norm(axis, in.rank());
  const std::int64_t n = in[a];
  const std::int64_t s = start < 0 ? start + n : start, e = end < 0 ? end + n : end;
  return unary_case(
      "slice", fmt::format("{} axis {} [{}, {})", in.str(), axis, start, end), in,
      [=](const Var& x) { return ops::slice(x, axis, start, end); },
      [=](const RefArray& x) { return ref::slice(x, a, s, e); },
      [=](const RefArray& x, const RefArray& gy) { return ref::slice_backward(x.shape, gy, a, s); });
}

OpCase join_case(std::string op, std::vector<Shape> shapes, int axis) {
  OpCase c;
  c.op = op;
  std::vector<std::string> names;
  for (const auto& s : shapes) names.push_back(s.str());
  c.variant = fmt::format("{} on axis {}", fmt::join(names, " + "), axis);
  for (auto& s : shapes) c.inputs.push_back(InputSpec::real(s));
  // stack inserts a dim, so a negative axis counts from the end of rank + 1.
  const int a = norm(axis, shapes.front().rank() + (op == "stack" ? 1 : 0));
  if (op == "concat") {
    c.run = [axis](const std::vector<Var>& x) { return ops::concat(x, axis); };
    c.forward = [a](const std::vector<RefArray>& x) { return ref::concat(x, a); };
    c.backward = [a](const std::vector<RefArray>& x, const RefArray& gy) { return ref::concat_backward(x, gy, a); };
  } else {
    c.run = [axis](const std::vector<Var>& x) { return ops::stack(x, axis); };
    c.forward = [a](const std::vector<RefArray>& x) { return ref::stack(x, a); };
    c.backward = [a](const std::vector<RefArray>& x, const RefArray& gy) { return ref::stack_backward(x, gy, a); };
  }
  return c;
}

OpCase select_steps_case(Shape x) {
  OpCase c;
  c.op = "select_steps";
  c.variant = x.str();
  c.inputs = {InputSpec::real(x), InputSpec::index(Shape{x[0]}, 0, x[1])};
  c.run = [](const std::vector<Var>& v) { return ops::select_steps(v[0], v[1].value()); };
  c.forward = [](const std::vector<RefArray>& v) { return ref::select_steps(v[0], v[1]); };
  c.backward = [](const std::vector<RefArray>& v, const RefArray& gy) {
    return std::vector<RefArray>{ref::select_steps_backward(v[0], v[1], gy), RefArray(v[1].shape)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;

  v.push_back(view_case("reshape", {2, 3, 4}, {4, 6}, "(4, -1)", [](const Var& x) {
    return ops::reshape(x, {4, -1});
  }));
  v.push_back(view_case("reshape", {6}, {2, 1, 3}, "(2, 1, 3)", [](const Var& x) {
    return ops::reshape(x, {2, 1, 3});
  }));
  v.push_back(view_case("reshape", {2, 3, 4}, {24}, "(-1)", [](const Var& x) { return ops::reshape(x, {-1}); }));
  v.push_back(view_case("flatten", {2, 3, 4}, {2, 12}, "from 1", [](const Var& x) { return ops::flatten(x); }));
  v.push_back(view_case("flatten", {2, 3, 4}, {24}, "from 0", [](const Var& x) { return ops::flatten(x, 0); }));
  v.push_back(
      view_case("flatten", {2, 3, 2, 2}, {2, 3, 4}, "from -2", [](const Var& x) { return ops::flatten(x, -2); }));
  v.push_back(view_case("unsqueeze", {3, 4}, {1, 3, 4}, "at 0", [](const Var& x) { return ops::unsqueeze(x, 0); }));
  v.push_back(view_case("unsqueeze", {3, 4}, {3, 1, 4}, "at 1", [](const Var& x) { return ops::unsqueeze(x, 1); }));
  v.push_back(view_case("unsqueeze", {3, 4}, {3, 4, 1}, "at -1", [](const Var& x) { return ops::unsqueeze(x, -1); }));
  v.push_back(view_case("squeeze", {3, 1, 4}, {3, 4}, "at 1", [](const Var& x) { return ops::squeeze(x, 1); }));
  v.push_back(view_case("squeeze", {3, 4, 1}, {3, 4}, "at -1", [](const Var& x) { return ops::squeeze(x, -1); }));
  v.push_back(view_case("squeeze", {1, 5}, {5}, "at 0", [](const Var& x) { return ops::squeeze(x, 0); }));

  v.push_back(permute_case({5, 7}, {1, 0}));
  for (auto p :
       std::vector<std::vector<int>>{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {-1, 0, -2}, {0, 1, 2}})
    v.push_back(permute_case({2, 3, 4}, p));
  for (auto p : std::vector<std::vector<int>>{{0, 2, 1, 3}, {3, 1, 0, 2}, {0, 1, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}})
    v.push_back(permute_case({2, 3, 4, 5}, p));
  v.push_back(permute_case({16, 1, 33}, {2, 0, 1}));

  v.push_back(transpose_case({5, 7}, 0, 1));
  v.push_back(transpose_case({2, 3, 4}, 1, 2));
  v.push_back(transpose_case({2, 3, 4}, 0, 2));
  v.push_back(transpose_case({2, 3, 4}, -1, -3));
  v.push_back(transpose_case({2, 3, 4, 5}, 1, 2));
  v.push_back(transpose_case({2, 3, 4, 5}, 2, 3));

  v.push_back(slice_case({4, 5, 6}, 0, 1, 3));
  v.push_back(slice_case({4, 5, 6}, 0, -1, 4));
  v.push_back(slice_case({4, 5, 6}, 1, -3, -1));
  v.push_back(slice_case({4, 5, 6}, 1, 0, 5));
  v.push_back(slice_case({4, 5, 6}, 2, 2, 6));
  v.push_back(slice_case({4, 5, 6}, -1, 0, -2));
  v.push_back(slice_case({4, 5, 6}, -2, -5, 2));
  v.push_back(slice_case({7}, 0, 2, -2));

  v.push_back(join_case("concat", {{2, 3, 4}, {3, 3, 4}}, 0));
  v.push_back(join_case("concat", {{2, 3, 4}, {1, 3, 4}, {2, 3, 4}}, 0));
  v.push_back(join_case("concat", {{2, 1, 4}, {2, 3, 4}}, 1));
  v.push_back(join_case("concat", {{2, 1, 4}, {2, 3, 4}, {2, 2, 4}}, 1));
  v.push_back(join_case("concat", {{2, 3, 4}, {2, 3, 5}}, 2));
  v.push_back(join_case("concat", {{2, 3, 4}, {2, 3, 1}, {2, 3, 2}}, -1));
  v.push_back(join_case("concat", {{3, 5}, {3, 5}}, -2));
  v.push_back(join_case("concat", {{2, 2, 3, 2}, {2, 1, 3, 2}, {2, 4, 3, 2}}, 1));

  v.push_back(join_case("stack", {{3, 4}, {3, 4}}, 0));
  v.push_back(join_case("stack", {{3, 4}, {3, 4}, {3, 4}}, 1));
  v.push_back(join_case("stack", {{3, 4}, {3, 4}}, 2));
  v.push_back(join_case("stack", {{3, 4}, {3, 4}, {3, 4}}, -1));
  v.push_back(join_case("stack", {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}, 1));
  v.push_back(join_case("stack", {{2, 3, 4}, {2, 3, 4}}, 0));

  v.push_back(select_steps_case({4, 5, 3}));
  v.push_back(select_steps_case({3, 6}));
  v.push_back(select_steps_case({2, 4, 2, 3}));
  v.push_back(select_steps_case({7, 1, 5}));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
