#include "framework/ops/reduce.h"

#include "framework/ops/binary.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace attnlab::ops {
namespace {

// Work per parallel task, in input elements.
constexpr std::int64_t kChunk = std::int64_t{1} << 15;

enum class RedOp { sum, max };

template <RedOp K>
constexpr float identity() {
  return K == RedOp::sum ? 0.f : -std::numeric_limits<float>::infinity();
}

// max that propagates NaN, as torch.max does.
inline float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

template <RedOp K>
float combine(float a, float b) {
  if constexpr (K == RedOp::sum)
    return a + b;
  else
    return nan_max(a, b);
}

template <RedOp K>
float reduce_row(const float* __restrict x, std::int64_t n) {
  if constexpr (K == RedOp::sum) {
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (std::int64_t j = 0; j < n; ++j) s += x[j];
    return s;
  } else {
    float m = identity<K>();
    int has_nan = 0;
#pragma omp simd reduction(max : m) reduction(| : has_nan)
    for (std::int64_t j = 0; j < n; ++j) {
      m = x[j] > m ? x[j] : m;
      has_nan |= x[j] != x[j];
    }
    return has_nan ? std::numeric_limits<float>::quiet_NaN() : m;
  }
}

// x's dims with size-1 dims dropped and neighbours merged when both are reduced or both kept, so
// reduced and kept dims alternate.
struct ReducePlan {
  std::vector<std::int64_t> dims;
  std::vector<bool> reduced;
  std::vector<std::int64_t> in_strides;   // row-major over dims
  std::vector<std::int64_t> out_strides;  // row-major over the kept dims, 0 along reduced ones
};

// `target` has x's rank, each dim equal to x's or 1.
ReducePlan reduce_plan(const Shape& x, const Shape& target) {
  ReducePlan p;
  for (int d = 0; d < x.rank(); ++d) {
    if (x[d] == 1) continue;
    const bool red = target[d] == 1;
    if (!p.dims.empty() && p.reduced.back() == red) {
      p.dims.back() *= x[d];
    } else {
      p.dims.push_back(x[d]);
      p.reduced.push_back(red);
    }
  }
  const std::size_t m = p.dims.size();
  p.in_strides.assign(m, 1);
  p.out_strides.assign(m, 0);
  std::int64_t is = 1, os = 1;
  for (std::size_t d = m; d-- > 0;) {
    p.in_strides[d] = is;
    is *= p.dims[d];
    if (!p.reduced[d]) {
      p.out_strides[d] = os;
      os *= p.dims[d];
    }
  }
  return p;
}

// Folds indices [lo, hi) of dims[level] (and everything below) of `in` into `out`.
template <RedOp K>
void accumulate(const ReducePlan& p, std::size_t level, const float* in, float* out, std::int64_t lo, std::int64_t hi) {
  if (level + 1 == p.dims.size()) {
    if (p.reduced[level]) {
      out[0] = combine<K>(out[0], reduce_row<K>(in + lo, hi - lo));
    } else {
#pragma omp simd
      for (std::int64_t j = lo; j < hi; ++j) out[j] = combine<K>(out[j], in[j]);
    }
    return;
  }
  const std::int64_t is = p.in_strides[level], os = p.out_strides[level];
  for (std::int64_t i = lo; i < hi; ++i) accumulate<K>(p, level + 1, in + i * is, out + i * os, 0, p.dims[level + 1]);
}

template <class F>
void parallel_blocks(std::int64_t n, std::int64_t grain, F f) {
  if (n <= grain) {
    f(std::int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<std::int64_t>& r) { f(r.begin(), r.end()); });
}

// Reduces x to `target` (x's rank; each dim x's or 1), then multiplies by `scale` (sum only).
// Every output element is folded in an order fixed by the shapes, whatever the thread count.
template <RedOp K>
Tensor reduce_to(const Tensor& x, const Shape& target, float scale) {
  Tensor y = Tensor::empty(target);
  const std::int64_t m = y.numel();
  float* out = y.f32();
  if (m == 0) return y;
  if (x.numel() == 0) {
    y.fill_(K == RedOp::sum ? 0.f * scale : identity<K>());
    return y;
  }
  if (x.numel() == m) {  // nothing to reduce
    const float* in = x.f32();
    for (std::int64_t j = 0; j < m; ++j) out[j] = K == RedOp::sum ? in[j] * scale : in[j];
    return y;
  }
  const ReducePlan p = reduce_plan(x.shape(), target);
  const float* in = x.f32();
  const std::int64_t d0 = p.dims[0];
  const std::int64_t inner0 = p.in_strides[0];
  if (!p.reduced[0]) {
    // Independent output slices along the leading kept dim.
    parallel_blocks(d0, std::max<std::int64_t>(1, kChunk / inner0), [&](std::int64_t lo, std::int64_t hi) {
      std::fill(out + lo * p.out_strides[0], out + hi * p.out_strides[0], identity<K>());
      accumulate<K>(p, 0, in, out, lo, hi);
    });
  } else {
    const std::int64_t rows = std::max<std::int64_t>(1, kChunk / inner0);
    const std::int64_t chunks = (d0 + rows - 1) / rows;
    if (chunks == 1) {
      std::fill(out, out + m, identity<K>());
      accumulate<K>(p, 0, in, out, 0, d0);
    } else if (m * 16 <= rows * inner0) {
      // A small output (e.g. a bias gradient): each chunk of the leading reduced dim folds into its
      // own partial result; the partials are then folded in chunk order.
      std::vector<float> part(static_cast<std::size_t>(chunks * m), identity<K>());
      parallel_blocks(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t c = c0; c < c1; ++c)
          accumulate<K>(p, 0, in, part.data() + c * m, c * rows, std::min(d0, (c + 1) * rows));
      });
      std::copy(part.begin(), part.begin() + m, out);
      for (std::int64_t c = 1; c < chunks; ++c)
        for (std::int64_t j = 0; j < m; ++j) out[j] = combine<K>(out[j], part[static_cast<std::size_t>(c * m + j)]);
    } else {
      // A large output: split the kept dim that follows, and walk the leading reduced dim in order.
      const std::int64_t d1 = p.dims[1];
      const std::int64_t os1 = p.out_strides[1];
      parallel_blocks(d1, std::max<std::int64_t>(1, kChunk / (d0 * p.in_strides[1])),
                      [&](std::int64_t lo, std::int64_t hi) {
                        std::fill(out + lo * os1, out + hi * os1, identity<K>());
                        for (std::int64_t i = 0; i < d0; ++i) accumulate<K>(p, 1, in + i * inner0, out, lo, hi);
                      });
    }
  }
  if (K == RedOp::sum && scale != 1.f)
    for (std::int64_t j = 0; j < m; ++j) out[j] *= scale;
  return y;
}

struct Axis {
  int axis;
  Shape keep;  // x's shape with the axis set to 1
  Shape out;   // the result's shape (keep, or keep without the axis)
};

Axis prepare_axis(const char* op, const Var& x, int axis, bool keepdim) {
  require_f32(op, x);
  const int a = normalize_axis(op, x.shape(), axis);
  Shape keep = x.shape();
  keep[a] = 1;
  std::vector<std::int64_t> out = keep.dims();
  if (!keepdim) out.erase(out.begin() + a);
  return {a, std::move(keep), Shape(std::move(out))};
}

Var sum_or_mean(const char* op, const Var& x, int axis, bool keepdim, bool mean) {
  auto [a, keep, out] = prepare_axis(op, x, axis, keepdim);
  const float scale = mean ? 1.f / static_cast<float>(x.shape()[a]) : 1.f;
  Tensor y = reduce_to<RedOp::sum>(x.value(), keep, scale).reshape(out);
  return autograd::make_result(std::move(y), {x}, op,
                               [xs = x.shape(), keep_shape = keep, scale](const Tensor& gy, Grads& g) {
                                 g.add(0, broadcast_to(gy.reshape(keep_shape), xs, scale));
                               });
}

// The maximum over `axis` of x viewed as [outer, n, inner], and for every output element the index
// along the axis of the first element equal to it (of the first NaN, which the max propagates).
// The backward then scatters the gradient to those elements without reading x again.
std::pair<Tensor, Tensor> max_with_argmax(const Tensor& x, int axis) {
  const Shape& s = x.shape();
  const std::int64_t outer = s.prod(0, axis), n = s[axis], inner = s.prod(axis + 1, s.rank());
  if (n > std::numeric_limits<std::int32_t>::max())
    throw ShapeError("max", fmt::format("axis {} of {} is longer than 2^31 - 1", axis, s.str()));
  Tensor y = Tensor::empty(Shape{outer, inner});
  Tensor arg = Tensor::empty(Shape{outer, inner}, core::DType::i64);
  if (y.numel() == 0) return {y, arg};
  const float* px = x.f32();
  float* py = y.f32();
  std::int64_t* pa = arg.i64();
  constexpr std::int64_t kBlock = 1024;  // inner positions per task: the running max stays in cache
  const std::int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_blocks(outer * blocks, std::max<std::int64_t>(1, kChunk / (n * std::min(inner, kBlock))),
                  [&](std::int64_t t0, std::int64_t t1) {
                    std::array<std::int32_t, kBlock> arg32;
                    for (std::int64_t t = t0; t < t1; ++t) {
                      const std::int64_t o = t / blocks, i0 = (t % blocks) * kBlock, i1 = std::min(inner, i0 + kBlock);
                      // 32-bit indices while scanning, so that compare and select vectorise together.
                      const std::int64_t w = i1 - i0;
                      float* __restrict m = py + o * inner + i0;
                      std::int32_t* __restrict am = arg32.data();
                      const float* first = px + o * n * inner + i0;
                      for (std::int64_t i = 0; i < w; ++i) {
                        m[i] = first[i];
                        am[i] = 0;
                      }
                      for (std::int64_t k = 1; k < n; ++k) {
                        const float* __restrict row = px + (o * n + k) * inner + i0;
                        const auto kk = static_cast<std::int32_t>(k);
#pragma omp simd
                        for (std::int64_t i = 0; i < w; ++i) {
                          const float v = row[i];
                          const bool take = v > m[i] || (v != v && m[i] == m[i]);
                          m[i] = take ? v : m[i];
                          am[i] = take ? kk : am[i];
                        }
                      }
                      for (std::int64_t i = 0; i < w; ++i) pa[o * inner + i0 + i] = am[i];
                    }
                  });
  return {y, arg};
}

// gx: zeros, and gy at each output's argmax along the axis.
Tensor max_backward(const Shape& s, int axis, const Tensor& arg, const Tensor& gy) {
  const std::int64_t outer = s.prod(0, axis), n = s[axis], inner = s.prod(axis + 1, s.rank());
  Tensor gx = Tensor::zeros(s);
  if (gx.numel() == 0) return gx;
  const std::int64_t* pa = arg.i64();
  const float* pg = gy.f32();
  float* pgx = gx.f32();
  parallel_blocks(outer, std::max<std::int64_t>(1, kChunk / std::max<std::int64_t>(1, inner)),
                  [&](std::int64_t o0, std::int64_t o1) {
                    for (std::int64_t o = o0; o < o1; ++o)
                      for (std::int64_t i = 0; i < inner; ++i)
                        pgx[(o * n + pa[o * inner + i]) * inner + i] = pg[o * inner + i];
                  });
  return gx;
}

Var sum_or_mean_all(const char* op, const Var& x, bool mean) {
  require_f32(op, x);
  const std::int64_t n = x.value().numel();
  const float scale = mean ? 1.f / static_cast<float>(n) : 1.f;
  const Shape ones(std::vector<std::int64_t>(static_cast<std::size_t>(x.rank()), 1));
  Tensor y = reduce_to<RedOp::sum>(x.value(), ones, scale).reshape(Shape{});
  return autograd::make_result(std::move(y), {x}, op, [xs = x.shape(), scale](const Tensor& gy, Grads& g) {
    g.add(0, Tensor::full(xs, gy.item() * scale));
  });
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape, float scale) {
  if (g.dtype() != DType::f32)
    throw DTypeError("sum_to", fmt::format("input must be f32, got {} {}", core::name_of(g.dtype()), g.shape().str()));
  if (broadcast_shape("sum_to", shape, g.shape()) != g.shape())
    throw ShapeError("sum_to", fmt::format("{} does not broadcast to {}", shape.str(), g.shape().str()));
  if (g.numel() == shape.numel()) return (scale == 1.f ? g : broadcast_to(g, g.shape(), scale)).reshape(shape);
  std::vector<std::int64_t> target(static_cast<std::size_t>(g.rank() - shape.rank()), 1);
  target.insert(target.end(), shape.begin(), shape.end());
  return reduce_to<RedOp::sum>(g, Shape(std::move(target)), scale).reshape(shape);
}

Var sum(const Var& x, int axis, bool keepdim) { return sum_or_mean("sum", x, axis, keepdim, false); }
Var mean(const Var& x, int axis, bool keepdim) { return sum_or_mean("mean", x, axis, keepdim, true); }

Var max(const Var& x, int axis, bool keepdim) {
  auto [a, keep, out] = prepare_axis("max", x, axis, keepdim);
  if (x.shape()[a] == 0)
    throw ShapeError("max", fmt::format("axis {} of {} is empty: the max is undefined", axis, x.shape().str()));
  auto [y, arg] = max_with_argmax(x.value(), a);
  return autograd::make_result(y.reshape(out), {x}, "max",
                               [xs = x.shape(), arg = std::move(arg), axis_index = a](const Tensor& gy, Grads& g) {
                                 g.add(0, max_backward(xs, axis_index, arg, gy));
                               });
}

Var sum_all(const Var& x) { return sum_or_mean_all("sum_all", x, false); }
Var mean_all(const Var& x) { return sum_or_mean_all("mean_all", x, true); }

ATTNLAB_OP(sum, true, "native", "sum over one axis");
ATTNLAB_OP(mean, true, "native", "mean over one axis");
ATTNLAB_OP(max, true, "native", "maximum over one axis; gradient to the first maximal element");
ATTNLAB_OP(sum_all, true, "native", "sum of every element -> []");
ATTNLAB_OP(mean_all, true, "native", "mean of every element -> []");

}  // namespace attnlab::ops
