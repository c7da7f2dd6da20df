#include "framework/ops/shape_ops.h"

#include "framework/onednn/onednn.h"
#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"
#include "framework/ops/parallel.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <numeric>
#include <string>

namespace attnlab::ops {
namespace {

void require_defined(const char* op, const Var& x, std::string_view what = "input") {
  if (!x.defined()) throw Error(fmt::format("{}: {} is undefined", op, what));
}

std::string shapes_str(const std::vector<Var>& xs) {
  std::vector<std::string> s;
  for (const auto& x : xs) s.push_back(x.defined() ? x.shape().str() : "undefined");
  return fmt::format("{}", fmt::join(s, ", "));
}

/// Normalises an insertion axis in [-(rank+1), rank] (unsqueeze, stack).
int insert_axis(const char* op, const Shape& shape, int axis) {
  const int r = shape.rank();
  if (axis < -(r + 1) || axis > r)
    throw ShapeError(
        op, fmt::format("axis {} out of range [{}, {}] for inserting a dim into {}", axis, -(r + 1), r, shape.str()));
  return axis < 0 ? axis + r + 1 : axis;
}

Shape with_unit_dim(const Shape& s, int axis) {
  auto d = s.dims();
  d.insert(d.begin() + axis, 1);
  return Shape(std::move(d));
}

// A result that shares x's buffer under another shape; the gradient is reshaped back.
Var view_result(Tensor y, const Var& x, const char* op) {
  return autograd::make_result(std::move(y), {x}, op,
                               [in = x.shape()](const Tensor& gy, Grads& g) { g.add(0, gy.reshape(in)); });
}

// dst + r * dst_stride <- src + r * src_stride, `block` bytes per row, for r in [0, rows).
void copy_blocks(std::byte* dst, std::int64_t dst_stride, const std::byte* src, std::int64_t src_stride,
                 std::int64_t rows, std::int64_t block) {
  if (block <= 0) return;
  for_rows(rows, block, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r)
      std::memcpy(dst + r * dst_stride, src + r * src_stride, static_cast<std::size_t>(block));
  });
}

std::byte* bytes_of(Tensor& t) { return static_cast<std::byte*>(t.raw()); }
const std::byte* bytes_of(const Tensor& t) { return static_cast<const std::byte*>(t.raw()); }

// Elements [start, start + len) along `axis` of t, as a new contiguous tensor.
Tensor slice_tensor(const Tensor& t, int axis, std::int64_t start, std::int64_t len) {
  Shape out = t.shape();
  out[axis] = len;
  Tensor y = Tensor::empty(out, t.dtype());
  const auto es = static_cast<std::int64_t>(core::size_of(t.dtype()));
  const std::int64_t inner = t.shape().prod(axis + 1, t.rank()) * es;
  copy_blocks(bytes_of(y), len * inner, bytes_of(t) + start * inner, t.shape()[axis] * inner, t.shape().prod(0, axis),
              len * inner);
  return y;
}

// A zero tensor of `shape` with g written at [start, start + g.shape()[axis]) along `axis`.
Tensor unslice(const Tensor& g, const Shape& shape, int axis, std::int64_t start) {
  Tensor gx = Tensor::zeros(shape);
  const std::int64_t inner = shape.prod(axis + 1, shape.rank()) * static_cast<std::int64_t>(sizeof(float));
  const std::int64_t len = g.shape()[axis];
  copy_blocks(bytes_of(gx) + start * inner, shape[axis] * inner, bytes_of(g), len * inner, shape.prod(0, axis),
              len * inner);
  return gx;
}

// ---- permute ---------------------------------------------------------------------------------

std::vector<int> check_perm(const char* op, const Shape& s, const std::vector<int>& perm) {
  const int r = s.rank();
  std::vector<int> p(perm.size());
  std::vector<bool> seen(static_cast<std::size_t>(r), false);
  bool ok = static_cast<int>(perm.size()) == r;
  for (std::size_t i = 0; ok && i < perm.size(); ++i) {
    const int a = s.axis(perm[i]);
    ok = a >= 0 && !seen[static_cast<std::size_t>(a)];
    if (ok) seen[static_cast<std::size_t>(a)] = true;
    p[i] = a;
  }
  if (!ok)
    throw ShapeError(op, fmt::format("permutation ({}) is not a permutation of the {} axes of {}",
                                     fmt::join(perm, ", "), r, s.str()));
  return p;
}

std::vector<int> inverse(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  return inv;
}

Shape permuted(const Shape& s, const std::vector<int>& perm) {
  std::vector<std::int64_t> d(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) d[i] = s[perm[i]];
  return Shape(std::move(d));
}

// Source strides seen in output order: walking the output row-major reads the source permuted.
onednn::dims permuted_strides(const Shape& s, const std::vector<int>& perm) {
  const auto st = s.strides();
  onednn::dims d(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) d[i] = st[static_cast<std::size_t>(perm[i])];
  return d;
}

struct PermuteKernel {
  dnnl::reorder prim;
  dnnl::memory::desc src_md;  // the source's plain buffer described in output dim order
  dnnl::memory::desc dst_md;
};

// One reorder per (source shape, perm); the backward is the kernel of (output shape, inverse).
std::shared_ptr<PermuteKernel> permute_kernel(const char* op, const Shape& s, const std::vector<int>& perm) {
  return onednn::cached<PermuteKernel>(fmt::format("permute:{}:{}", s.str(), fmt::join(perm, ",")), [&] {
    return onednn::guard(op, fmt::format("{} perm ({})", s.str(), fmt::join(perm, ", ")), [&] {
      const Shape out = permuted(s, perm);
      const auto src_md = onednn::strided_md(onednn::to_dims(out), permuted_strides(s, perm));
      const auto dst_md = onednn::plain_md(out);
      dnnl::reorder::primitive_desc pd(onednn::engine(), src_md, onednn::engine(), dst_md);
      return PermuteKernel{dnnl::reorder(pd), src_md, dst_md};
    });
  });
}

Tensor permute_i64(const Tensor& t, const std::vector<int>& perm) {
  const Shape out = permuted(t.shape(), perm);
  Tensor y = Tensor::empty(out, DType::i64);
  const auto st = permuted_strides(t.shape(), perm);
  const std::int64_t* src = t.i64();
  std::int64_t* dst = y.i64();
  const int r = out.rank();
  std::vector<std::int64_t> idx(static_cast<std::size_t>(r), 0);
  std::int64_t off = 0;
  for (std::int64_t n = 0; n < y.numel(); ++n) {
    dst[n] = src[off];
    for (int k = r - 1; k >= 0; --k) {  // odometer over the output index, tracking the source offset
      const auto uk = static_cast<std::size_t>(k);
      off += st[uk];
      if (++idx[uk] < out[k]) break;
      off -= st[uk] * out[k];
      idx[uk] = 0;
    }
  }
  return y;
}

bool is_identity(const std::vector<int>& perm) {
  for (std::size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int>(i)) return false;
  return true;
}

Tensor permute_tensor(const char* op, const Tensor& t, const std::vector<int>& perm) {
  if (is_identity(perm)) return t.clone();
  const Shape out = permuted(t.shape(), perm);
  if (t.numel() == 0) return Tensor::empty(out, t.dtype());
  if (t.dtype() == DType::i64) return permute_i64(t, perm);
  auto k = permute_kernel(op, t.shape(), perm);
  Tensor y = Tensor::empty(out);
  onednn::execute(k->prim, {{DNNL_ARG_FROM, onednn::wrap(t, k->src_md)}, {DNNL_ARG_TO, onednn::wrap(y, k->dst_md)}});
  return y;
}

Var permute_impl(const char* op, const Var& x, const std::vector<int>& perm) {
  Tensor y = permute_tensor(op, x.value(), perm);
  return autograd::make_result(std::move(y), {x}, op, [op, inv = inverse(perm)](const Tensor& gy, Grads& g) {
    g.add(0, permute_tensor(op, gy, inv));
  });
}

// ---- concat ----------------------------------------------------------------------------------

struct ConcatKernel {
  dnnl::concat prim;
  std::vector<dnnl::memory::desc> src_mds;
  dnnl::memory::desc dst_md;
};

// ts: the non-empty inputs (oneDNN rejects zero-sized sources; they add nothing to the output).
std::shared_ptr<ConcatKernel> concat_kernel(const char* op, const std::vector<Tensor>& ts, int axis, const Shape& out) {
  std::string key = fmt::format("concat:{}", axis);
  for (const auto& t : ts) key += fmt::format(":{}", t.shape().str());
  return onednn::cached<ConcatKernel>(key, [&] {
    return onednn::guard(op, key, [&] {
      std::vector<dnnl::memory::desc> src_mds;
      for (const auto& t : ts) src_mds.push_back(onednn::plain_md(t.shape()));
      const auto dst_md = onednn::plain_md(out);
      dnnl::concat::primitive_desc pd(dst_md, axis, src_mds, onednn::engine());
      return ConcatKernel{dnnl::concat(pd), std::move(src_mds), dst_md};
    });
  });
}

Tensor concat_native(const std::vector<Tensor>& ts, int axis, const Shape& out, DType dtype) {
  Tensor y = Tensor::empty(out, dtype);
  const auto es = static_cast<std::int64_t>(core::size_of(dtype));
  const std::int64_t inner = out.prod(axis + 1, out.rank()) * es;
  const std::int64_t outer = out.prod(0, axis);
  std::int64_t at = 0;
  for (const auto& t : ts) {
    const std::int64_t len = t.shape()[axis];
    copy_blocks(bytes_of(y) + at * inner, out[axis] * inner, bytes_of(t), len * inner, outer, len * inner);
    at += len;
  }
  return y;
}

Tensor concat_tensors(const char* op, const std::vector<Tensor>& ts, int axis, const Shape& out) {
  const DType dtype = ts.front().dtype();
  if (dtype == DType::i64) return concat_native(ts, axis, out, dtype);
  std::vector<Tensor> nonempty;
  for (const auto& t : ts)
    if (t.numel() > 0) nonempty.push_back(t);
  if (nonempty.empty() || out.numel() == 0) return Tensor::empty(out);
  if (nonempty.size() == 1) return nonempty.front().clone();
  auto k = concat_kernel(op, nonempty, axis, out);
  Tensor y = Tensor::empty(out);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DST, onednn::wrap(y, k->dst_md)}};
  for (std::size_t i = 0; i < nonempty.size(); ++i)
    args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), onednn::wrap(nonempty[i], k->src_mds[i]));
  onednn::execute(k->prim, args);
  return y;
}

// Checks the inputs of concat/stack share rank, dtype and (but for `axis` when `same_shape` is
// false) dims.
void check_joinable(const char* op, const std::vector<Var>& xs, int axis, bool same_shape) {
  if (xs.empty()) throw ShapeError(op, "needs at least one input, got none");
  for (std::size_t i = 0; i < xs.size(); ++i) require_defined(op, xs[i], fmt::format("input {}", i));
  const Shape& s0 = xs.front().shape();
  for (std::size_t i = 1; i < xs.size(); ++i) {
    const Shape& s = xs[i].shape();
    if (xs[i].value().dtype() != xs.front().value().dtype())
      throw DTypeError(op, fmt::format("inputs mix element types: input 0 is {}, input {} is {} (shapes {})",
                                       core::name_of(xs.front().value().dtype()), i,
                                       core::name_of(xs[i].value().dtype()), shapes_str(xs)));
    bool ok = s.rank() == s0.rank();
    for (int d = 0; ok && d < s.rank(); ++d) ok = s[d] == s0[d] || (!same_shape && d == axis);
    if (!ok)
      throw ShapeError(
          op, same_shape ? fmt::format("inputs must have one shape, got {}", shapes_str(xs))
                         : fmt::format("inputs must agree on every dim but axis {}, got {}", axis, shapes_str(xs)));
  }
}

}  // namespace

Var reshape(const Var& x, Shape shape) {
  require_defined("reshape", x);
  int inferred = 0;
  for (auto d : shape) {
    if (d == -1) ++inferred;
    if (d < -1 || inferred > 1)
      throw ShapeError("reshape", fmt::format("invalid target shape {} for {} (dims must be >= 0, at most one -1)",
                                              shape.str(), x.shape().str()));
  }
  return view_result(x.value().reshape(std::move(shape)), x, "reshape");
}

Var flatten(const Var& x, int start_axis) {
  require_defined("flatten", x);
  const Shape& s = x.shape();
  const int a = normalize_axis("flatten", s, start_axis);
  std::vector<std::int64_t> d(s.begin(), s.begin() + a);
  d.push_back(s.prod(a, s.rank()));
  return view_result(x.value().reshape(Shape(std::move(d))), x, "flatten");
}

Var unsqueeze(const Var& x, int axis) {
  require_defined("unsqueeze", x);
  const int a = insert_axis("unsqueeze", x.shape(), axis);
  return view_result(x.value().reshape(with_unit_dim(x.shape(), a)), x, "unsqueeze");
}

Var squeeze(const Var& x, int axis) {
  require_defined("squeeze", x);
  const int a = normalize_axis("squeeze", x.shape(), axis);
  if (x.shape()[a] != 1)
    throw ShapeError("squeeze", fmt::format("axis {} of {} has size {}, not 1", axis, x.shape().str(), x.shape()[a]));
  auto d = x.shape().dims();
  d.erase(d.begin() + a);
  return view_result(x.value().reshape(Shape(std::move(d))), x, "squeeze");
}

Var permute(const Var& x, const std::vector<int>& perm) {
  require_defined("permute", x);
  return permute_impl("permute", x, check_perm("permute", x.shape(), perm));
}

Var transpose(const Var& x, int a, int b) {
  require_defined("transpose", x);
  const int na = normalize_axis("transpose", x.shape(), a);
  const int nb = normalize_axis("transpose", x.shape(), b);
  std::vector<int> perm(static_cast<std::size_t>(x.rank()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[static_cast<std::size_t>(na)], perm[static_cast<std::size_t>(nb)]);
  return permute_impl("transpose", x, perm);
}

Var slice(const Var& x, int axis, std::int64_t start, std::int64_t end) {
  require_defined("slice", x);
  const int a = normalize_axis("slice", x.shape(), axis);
  const std::int64_t n = x.shape()[a];
  const std::int64_t s = start < 0 ? start + n : start;
  const std::int64_t e = end < 0 ? end + n : end;
  if (s < 0 || e > n || s > e)
    throw IndexError("slice", fmt::format("[{}, {}) is out of range for axis {} of size {} in {}", start, end, axis, n,
                                          x.shape().str()));
  Tensor y = slice_tensor(x.value(), a, s, e - s);
  return autograd::make_result(std::move(y), {x}, "slice",
                               [in = x.shape(), a, s](const Tensor& gy, Grads& g) { g.add(0, unslice(gy, in, a, s)); });
}

Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ShapeError("concat", "needs at least one input, got none");
  require_defined("concat", xs.front(), "input 0");
  const int a = normalize_axis("concat", xs.front().shape(), axis);
  check_joinable("concat", xs, a, false);
  Shape out = xs.front().shape();
  out[a] = 0;
  std::vector<Tensor> ts;
  std::vector<std::int64_t> starts;
  for (const auto& x : xs) {
    starts.push_back(out[a]);
    out[a] += x.shape()[a];
    ts.push_back(x.value());
  }
  Tensor y = concat_tensors("concat", ts, a, out);
  std::vector<std::int64_t> lens;
  for (const auto& x : xs) lens.push_back(x.shape()[a]);
  return autograd::make_result(std::move(y), xs, "concat",
                               [a, starts = std::move(starts), lens = std::move(lens)](const Tensor& gy, Grads& g) {
                                 for (std::size_t i = 0; i < starts.size(); ++i)
                                   if (g.needs(i)) g.add(i, slice_tensor(gy, a, starts[i], lens[i]));
                               });
}

Var stack(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ShapeError("stack", "needs at least one input, got none");
  require_defined("stack", xs.front(), "input 0");
  const Shape in = xs.front().shape();
  const int a = insert_axis("stack", in, axis);
  check_joinable("stack", xs, a, true);
  const Shape unit = with_unit_dim(in, a);
  std::vector<Tensor> ts;
  for (const auto& x : xs) ts.push_back(x.value().reshape(unit));
  Shape out = unit;
  out[a] = static_cast<std::int64_t>(xs.size());
  Tensor y = concat_tensors("stack", ts, a, out);
  return autograd::make_result(std::move(y), xs, "stack", [a, in, n = xs.size()](const Tensor& gy, Grads& g) {
    for (std::size_t i = 0; i < n; ++i)
      if (g.needs(i)) g.add(i, slice_tensor(gy, a, static_cast<std::int64_t>(i), 1).reshape(in));
  });
}

Var select_steps(const Var& x, const Tensor& index) {
  require_defined("select_steps", x);
  require_i64("select_steps", index, "index");
  const Shape& s = x.shape();
  if (s.rank() < 2 || index.shape() != Shape{s[0]})
    throw ShapeError("select_steps", fmt::format("needs x [B, T, ...] and index [B], got x {} and index {}", s.str(),
                                                 index.shape().str()));
  const std::int64_t batch = s[0], steps = s[1];
  std::vector<std::int64_t> idx(index.i64(), index.i64() + batch);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t i = idx[static_cast<std::size_t>(b)];
    if (i < 0 || i >= steps)
      throw IndexError("select_steps", fmt::format("index {} of row {} is outside [0, {}) (x {}, index {})", i, b,
                                                   steps, s.str(), index.shape().str()));
  }
  std::vector<std::int64_t> od{batch};
  od.insert(od.end(), s.begin() + 2, s.end());
  Tensor y = Tensor::empty(Shape(std::move(od)), x.value().dtype());  // [B, ...]
  const std::int64_t row = s.prod(2, s.rank()) * static_cast<std::int64_t>(core::size_of(y.dtype()));
  const std::byte* src = bytes_of(x.value());
  std::byte* dst = bytes_of(y);
  for_rows(batch, row, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b)
      std::memcpy(dst + b * row, src + (b * steps + idx[static_cast<std::size_t>(b)]) * row,
                  static_cast<std::size_t>(row));
  });
  return autograd::make_result(std::move(y), {x}, "select_steps",
                               [s, row, idx = std::move(idx)](const Tensor& gy, Grads& g) {
                                 Tensor gx = Tensor::zeros(s);  // [B, T, ...]
                                 for (std::size_t b = 0; b < idx.size(); ++b) {
                                   const auto sb = static_cast<std::int64_t>(b);
                                   std::memcpy(bytes_of(gx) + (sb * s[1] + idx[b]) * row, bytes_of(gy) + sb * row,
                                               static_cast<std::size_t>(row));
                                 }
                                 g.add(0, std::move(gx));
                               });
}

ATTNLAB_OP(reshape, true, "native", "same elements under a new shape (shares the buffer; -1 infers a dim)");
ATTNLAB_OP(flatten, true, "native", "merge dims [start_axis, rank) into one (shares the buffer)");
ATTNLAB_OP(unsqueeze, true, "native", "insert a dim of size 1 (shares the buffer)");
ATTNLAB_OP(squeeze, true, "native", "remove a dim of size 1 (shares the buffer)");
ATTNLAB_OP(permute, true, "onednn", "reorder dims (reorder from a permuted strided view)");
ATTNLAB_OP(transpose, true, "onednn", "swap two dims (a permute)");
ATTNLAB_OP(slice, true, "native", "elements [start, end) along an axis");
ATTNLAB_OP(concat, true, "onednn", "join tensors along an existing axis");
ATTNLAB_OP(stack, true, "onednn", "join equal-shaped tensors along a new axis");
ATTNLAB_OP(select_steps, true, "native", "x[b, index[b]] per batch row (last-valid-step pooling)");

}  // namespace attnlab::ops
