#include "framework/ops/binary.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"
#include "framework/ops/reduce.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <string_view>

namespace attnlab::ops {

namespace detail {

std::int64_t BroadcastPlan::rows() const {
  std::int64_t n = 1;
  for (std::size_t d = 0; d + 1 < dims.size(); ++d) n *= dims[d];
  return n;
}

BroadcastPlan broadcast_plan(const Shape& out, std::initializer_list<Shape> ins) {
  BroadcastPlan p;
  p.strides.resize(ins.size());
  if (out.numel() == 0) {
    p.dims = {0};
    for (auto& s : p.strides) s = {0};
    return p;
  }
  const int r = out.rank();
  std::vector<std::vector<std::int64_t>> full;  // [input][dim of out], before merging
  for (const Shape& s : ins) {
    std::vector<std::int64_t> st(static_cast<std::size_t>(r), 0);
    const int lead = r - s.rank();
    std::int64_t step = 1;
    for (int d = r - 1; d >= lead; --d) {
      const std::int64_t n = s[d - lead];
      st[static_cast<std::size_t>(d)] = n == 1 ? 0 : step;
      step *= n;
    }
    full.push_back(std::move(st));
  }
  for (int d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    const auto ud = static_cast<std::size_t>(d);
    bool merge = !p.dims.empty();
    for (std::size_t i = 0; merge && i < full.size(); ++i) merge = p.strides[i].back() == full[i][ud] * out[d];
    if (merge) {
      p.dims.back() *= out[d];
      for (std::size_t i = 0; i < full.size(); ++i) p.strides[i].back() = full[i][ud];
    } else {
      p.dims.push_back(out[d]);
      for (std::size_t i = 0; i < full.size(); ++i) p.strides[i].push_back(full[i][ud]);
    }
  }
  if (p.dims.empty()) {
    p.dims = {1};
    for (auto& s : p.strides) s = {0};
  }
  return p;
}

void for_each_row(const BroadcastPlan& p, const RowFn& row) {
  const std::int64_t n = p.row_len();
  const std::int64_t rows = p.rows();
  if (rows == 0 || n == 0) return;
  const std::size_t k = p.strides.size();
  const std::size_t outer = p.dims.size() - 1;
  auto run = [&](std::int64_t r0, std::int64_t r1) {
    std::vector<std::int64_t> idx(outer), off(k, 0);
    std::int64_t rem = r0;
    for (std::size_t d = outer; d-- > 0;) {
      idx[d] = rem % p.dims[d];
      rem /= p.dims[d];
      for (std::size_t i = 0; i < k; ++i) off[i] += idx[d] * p.strides[i][d];
    }
    for (std::int64_t r = r0; r < r1; ++r) {
      row(r * n, off.data(), n);
      for (std::size_t d = outer; d-- > 0;) {
        for (std::size_t i = 0; i < k; ++i) off[i] += p.strides[i][d];
        if (++idx[d] < p.dims[d]) break;
        for (std::size_t i = 0; i < k; ++i) off[i] -= p.strides[i][d] * p.dims[d];
        idx[d] = 0;
      }
    }
  };
  // Blocks of at least ~16K elements: smaller ones cost more in scheduling than they save.
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 14) / n);
  if (rows <= grain) {
    run(0, rows);
  } else {
    tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, grain),
                      [&](const tbb::blocked_range<std::int64_t>& b) { run(b.begin(), b.end()); });
  }
}

}  // namespace detail

namespace {

using dnnl::algorithm;

enum class BinOp { add, sub, mul, div };

algorithm to_alg(BinOp k) {
  switch (k) {
    case BinOp::add:
      return algorithm::binary_add;
    case BinOp::sub:
      return algorithm::binary_sub;
    case BinOp::mul:
      return algorithm::binary_mul;
    case BinOp::div:
      return algorithm::binary_div;
  }
  return algorithm::binary_add;
}

struct BinaryKernel {
  dnnl::binary prim;
  dnnl::memory::desc src0_md, src1_md;
  bool reference;  // oneDNN only offers its reference loop for this pattern: use the native kernel
};

// src0 and dst have dims d0; src1 has d1 (1 where broadcast). `scale` multiplies the result
// through an eltwise post-op (the negation of a swapped sub, the -1 of a div gradient).
std::shared_ptr<BinaryKernel> binary_kernel(const char* op, algorithm alg, const onednn::dims& d0,
                                            const onednn::dims& d1, float scale) {
  const std::string key =
      fmt::format("binary:{}:{}:{}:{}", static_cast<int>(alg), fmt::join(d0, ","), fmt::join(d1, ","), scale);
  return onednn::cached<BinaryKernel>(key, [&] {
    return onednn::guard(op, fmt::format("[{}] with [{}]", fmt::join(d0, ", "), fmt::join(d1, ", ")), [&] {
      const auto md0 = onednn::plain_md(Shape(d0));
      const auto md1 = onednn::plain_md(Shape(d1));
      dnnl::primitive_attr attr;
      if (scale != 1.f) {
        dnnl::post_ops po;
        po.append_eltwise(1.f, algorithm::eltwise_linear, scale, 0.f);
        attr.set_post_ops(po);
      }
      dnnl::binary::primitive_desc pd(dnnl::binary::desc(alg, md0, md1, md0), attr, onednn::engine());
      const bool ref = std::string_view(pd.impl_info_str()).starts_with("ref");
      return BinaryKernel{ref ? dnnl::binary() : dnnl::binary(pd), md0, md1, ref};
    });
  });
}

// One output row; a stride of 0 repeats that operand's first element. Separate functions with
// restrict pointers, so that the compiler vectorises them.
template <class F>
void binary_row(const float* __restrict a, bool sa, const float* __restrict b, bool sb, float* __restrict y,
                std::int64_t n, float scale, F f) {
  if (sa && sb) {
    for (std::int64_t j = 0; j < n; ++j) y[j] = scale * f(a[j], b[j]);
  } else if (sa) {
    const float vb = *b;
    for (std::int64_t j = 0; j < n; ++j) y[j] = scale * f(a[j], vb);
  } else if (sb) {
    const float va = *a;
    for (std::int64_t j = 0; j < n; ++j) y[j] = scale * f(va, b[j]);
  } else {
    std::fill(y, y + n, scale * f(*a, *b));
  }
}

template <class F>
void native_binary(const Tensor& a, const Tensor& b, Tensor& y, float scale, F f) {
  const auto plan = detail::broadcast_plan(y.shape(), {a.shape(), b.shape()});
  const bool sa = plan.strides[0].back() != 0, sb = plan.strides[1].back() != 0;
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* py = y.f32();
  detail::for_each_row(plan, [=](std::int64_t o, const std::int64_t* in, std::int64_t n) {
    binary_row(pa + in[0], sa, pb + in[1], sb, py + o, n, scale, f);
  });
}

// scale * (a op b), broadcast to `out`. Runs on oneDNN when one operand already has the output's
// elements (swapping add/mul/sub so that it is src0), natively otherwise.
Tensor binary_tensor(const char* op, BinOp k, const Tensor& a, const Tensor& b, const Shape& out, float scale = 1.f) {
  Tensor y = Tensor::empty(out);
  if (out.numel() == 0) return y;
  const bool a_full = a.numel() == out.numel();
  const bool swap = !a_full && b.numel() == out.numel() && k != BinOp::div;
  if (a_full || swap) {
    const Tensor& src0 = swap ? b : a;
    const Tensor& src1 = swap ? a : b;
    const auto plan = detail::broadcast_plan(out, {src0.shape(), src1.shape()});
    onednn::dims d1(plan.dims.size());
    for (std::size_t d = 0; d < d1.size(); ++d) d1[d] = plan.strides[1][d] == 0 ? 1 : plan.dims[d];
    if (plan.dims.size() <= DNNL_MAX_NDIMS) {
      auto kern = binary_kernel(op, to_alg(k), plan.dims, d1, swap && k == BinOp::sub ? -scale : scale);
      if (!kern->reference) {
        onednn::execute(kern->prim, {{DNNL_ARG_SRC_0, onednn::wrap(src0, kern->src0_md)},
                                     {DNNL_ARG_SRC_1, onednn::wrap(src1, kern->src1_md)},
                                     {DNNL_ARG_DST, onednn::wrap(y, kern->src0_md)}});
        return y;
      }
    }
  }
  switch (k) {
    case BinOp::add:
      native_binary(a, b, y, scale, [](float x, float z) { return x + z; });
      break;
    case BinOp::sub:
      native_binary(a, b, y, scale, [](float x, float z) { return x - z; });
      break;
    case BinOp::mul:
      native_binary(a, b, y, scale, [](float x, float z) { return x * z; });
      break;
    case BinOp::div:
      native_binary(a, b, y, scale, [](float x, float z) { return x / z; });
      break;
  }
  return y;
}

Var binary_op(const char* op, BinOp k, const Var& a, const Var& b) {
  require_f32(op, a, "a");
  require_f32(op, b, "b");
  Tensor y = binary_tensor(op, k, a.value(), b.value(), broadcast_shape(op, a.shape(), b.shape()));
  const Shape sa = a.shape(), sb = b.shape();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  autograd::BackwardFn bw;
  switch (k) {
    case BinOp::add:
    case BinOp::sub:
      bw = [sa, sb, neg = k == BinOp::sub](const Tensor& gy, Grads& g) {
        if (g.needs(0)) g.add(0, sum_to(gy, sa));
        if (g.needs(1)) g.add(1, sum_to(gy, sb, neg ? -1.f : 1.f));
      };
      break;
    case BinOp::mul:
      // Each gradient needs only the other operand: keep a tensor alive only when it is used.
      bw = [sa, sb, av = gb ? a.value() : Tensor(), bv = ga ? b.value() : Tensor()](const Tensor& gy, Grads& g) {
        if (g.needs(0)) g.add(0, sum_to(binary_tensor("mul", BinOp::mul, gy, bv, gy.shape()), sa));
        if (g.needs(1)) g.add(1, sum_to(binary_tensor("mul", BinOp::mul, gy, av, gy.shape()), sb));
      };
      break;
    case BinOp::div:
      // d/da = 1/b, d/db = -a/b^2 = -(1/b) * y: both start from t = gy / b.
      bw = [sa, sb, bv = b.value(), yv = gb ? y : Tensor()](const Tensor& gy, Grads& g) {
        const Tensor t = binary_tensor("div", BinOp::div, gy, bv, gy.shape());
        if (g.needs(0)) g.add(0, sum_to(t, sa));
        if (g.needs(1)) g.add(1, sum_to(binary_tensor("div", BinOp::mul, t, yv, gy.shape(), -1.f), sb));
      };
      break;
  }
  return autograd::make_result(std::move(y), {a, b}, op, std::move(bw));
}

Var constant(float v) { return Var(Tensor::scalar(v), false); }

// ---- unary helpers on oneDNN eltwise ----

struct UnaryKernel {
  dnnl::eltwise_forward fwd;
  dnnl::eltwise_backward bwd;
  dnnl::memory::desc md;
};

// Layout-agnostic like eltwise.cpp: keyed by element count only.
std::shared_ptr<UnaryKernel> unary_kernel(const char* op, algorithm alg, float alpha, std::int64_t n) {
  return onednn::cached<UnaryKernel>(fmt::format("binary_ops.eltwise:{}:{}:{}", static_cast<int>(alg), alpha, n), [&] {
    return onednn::guard(op, fmt::format("{} elements", n), [&] {
      const auto md = onednn::plain_md(Shape{n});
      dnnl::eltwise_forward::primitive_desc fwd_pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, alpha, 0.f), onednn::engine());
      dnnl::eltwise_backward::primitive_desc bwd_pd(dnnl::eltwise_backward::desc(alg, md, md, alpha, 0.f),
                                                    onednn::engine(), fwd_pd);
      return UnaryKernel{dnnl::eltwise_forward(fwd_pd), dnnl::eltwise_backward(bwd_pd), md};
    });
  });
}

Tensor unary_forward(const UnaryKernel& k, const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  onednn::execute(k.fwd, {{DNNL_ARG_SRC, onednn::wrap(x, k.md)}, {DNNL_ARG_DST, onednn::wrap(y, k.md)}});
  return y;
}

// `saved_arg` is DNNL_ARG_SRC or DNNL_ARG_DST, whichever the algorithm's backward reads.
Var unary_op(const char* op, algorithm alg, int saved_arg, const Var& x) {
  require_f32(op, x);
  const std::int64_t n = x.value().numel();
  if (n == 0) return autograd::make_result(Tensor::empty(x.shape()), {x}, op, [](const Tensor&, Grads&) {});
  auto k = unary_kernel(op, alg, 0.f, n);
  Tensor y = unary_forward(*k, x.value());
  Tensor saved = saved_arg == DNNL_ARG_DST ? y : x.value();
  return autograd::make_result(y, {x}, op, [k, saved, saved_arg](const Tensor& gy, Grads& g) {
    Tensor gx = Tensor::empty(saved.shape());
    onednn::execute(k->bwd, {{saved_arg, onednn::wrap(saved, k->md)},
                             {DNNL_ARG_DIFF_DST, onednn::wrap(gy, k->md)},
                             {DNNL_ARG_DIFF_SRC, onednn::wrap(gx, k->md)}});
    g.add(0, std::move(gx));
  });
}

}  // namespace

Shape broadcast_shape(std::string_view op, const Shape& a, const Shape& b) {
  const int r = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> out(static_cast<std::size_t>(r));
  for (int i = 1; i <= r; ++i) {
    const std::int64_t da = i <= a.rank() ? a[-i] : 1;
    const std::int64_t db = i <= b.rank() ? b[-i] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op), fmt::format("cannot broadcast a {} with b {}: dim {} from the end is {} vs {}",
                                                    a.str(), b.str(), i, da, db));
    out[static_cast<std::size_t>(r - i)] = da == 1 ? db : da;
  }
  return Shape(std::move(out));
}

Tensor broadcast_to(const Tensor& t, const Shape& shape, float scale) {
  if (t.dtype() != DType::f32)
    throw DTypeError("broadcast_to",
                     fmt::format("input must be f32, got {} {}", core::name_of(t.dtype()), t.shape().str()));
  if (broadcast_shape("broadcast_to", t.shape(), shape) != shape)
    throw ShapeError("broadcast_to", fmt::format("{} does not broadcast to {}", t.shape().str(), shape.str()));
  if (t.shape() == shape && scale == 1.f) return t;
  Tensor y = Tensor::empty(shape);
  const auto plan = detail::broadcast_plan(shape, {t.shape()});
  const bool contiguous = plan.strides[0].back() != 0;
  const float* src = t.f32();
  float* dst = y.f32();
  detail::for_each_row(plan, [=](std::int64_t o, const std::int64_t* in, std::int64_t n) {
    binary_row(src + in[0], contiguous, src, false, dst + o, n, scale, [](float v, float) { return v; });
  });
  return y;
}

Var add(const Var& a, const Var& b) { return binary_op("add", BinOp::add, a, b); }
Var sub(const Var& a, const Var& b) { return binary_op("sub", BinOp::sub, a, b); }
Var mul(const Var& a, const Var& b) { return binary_op("mul", BinOp::mul, a, b); }
Var div(const Var& a, const Var& b) { return binary_op("div", BinOp::div, a, b); }

Var neg(const Var& x) {
  require_f32("neg", x);
  const std::int64_t n = x.value().numel();
  if (n == 0) return autograd::make_result(Tensor::empty(x.shape()), {x}, "neg", [](const Tensor&, Grads&) {});
  auto k = unary_kernel("neg", algorithm::eltwise_linear, -1.f, n);
  // The gradient of -x is -gy: the forward kernel again, and nothing to save.
  return autograd::make_result(unary_forward(*k, x.value()), {x}, "neg",
                               [k](const Tensor& gy, Grads& g) { g.add(0, unary_forward(*k, gy)); });
}
Var square(const Var& x) { return unary_op("square", algorithm::eltwise_square, DNNL_ARG_SRC, x); }
Var sqrt(const Var& x) { return unary_op("sqrt", algorithm::eltwise_sqrt_use_dst_for_bwd, DNNL_ARG_DST, x); }

Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator-(const Var& x) { return neg(x); }

Var operator+(const Var& a, float b) { return add(a, constant(b)); }
Var operator+(float a, const Var& b) { return add(constant(a), b); }
Var operator-(const Var& a, float b) { return sub(a, constant(b)); }
Var operator-(float a, const Var& b) { return sub(constant(a), b); }
Var operator*(const Var& a, float b) { return mul(a, constant(b)); }
Var operator*(float a, const Var& b) { return mul(constant(a), b); }
Var operator/(const Var& a, float b) { return div(a, constant(b)); }
Var operator/(float a, const Var& b) { return div(constant(a), b); }

ATTNLAB_OP(add, true, "onednn", "a + b, NumPy broadcasting (native kernel when neither side has the output shape)");
ATTNLAB_OP(sub, true, "onednn", "a - b, NumPy broadcasting (native kernel when neither side has the output shape)");
ATTNLAB_OP(mul, true, "onednn", "a * b, NumPy broadcasting (native kernel when neither side has the output shape)");
ATTNLAB_OP(div, true, "onednn", "a / b, NumPy broadcasting (native kernel unless a has the output shape)");
ATTNLAB_OP(neg, true, "onednn", "-x");
ATTNLAB_OP(square, true, "onednn", "x * x");
ATTNLAB_OP(sqrt, true, "onednn", "square root");

}  // namespace attnlab::ops
