#include "framework/ops/embedding.h"

#include "framework/ops/common.h"
#include "framework/ops/op_registry.h"
#include "framework/ops/parallel.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace attnlab::ops {
namespace {

// Dense [V, D] gradient: zero, plus for each looked-up id (but padding_idx) the sum of its output
// gradient rows. (id, position) pairs are unique, so any sort gives one order, and each id's rows
// are added by one task in ascending position: the bits never depend on the thread count.
Tensor scatter_add(const Tensor& ids, const Tensor& gy, std::int64_t rows, std::int64_t dim, std::int64_t padding_idx) {
  Tensor gt = Tensor::empty(Shape{rows, dim});  // [V, D]
  float* out = gt.f32();
  const auto row_bytes = dim * static_cast<std::int64_t>(sizeof(float));
  for_rows(rows, row_bytes, [&](std::int64_t lo, std::int64_t hi) {
    std::memset(out + lo * dim, 0, static_cast<std::size_t>((hi - lo) * row_bytes));
  });

  const std::int64_t* id = ids.i64();
  std::vector<std::pair<std::int64_t, std::int64_t>> order;  // (id, flat position)
  order.reserve(static_cast<std::size_t>(ids.numel()));
  for (std::int64_t p = 0; p < ids.numel(); ++p)
    if (id[p] != padding_idx) order.emplace_back(id[p], p);
  tbb::parallel_sort(order.begin(), order.end());

  std::vector<std::size_t> starts;  // first index in `order` of each distinct id, plus the end
  for (std::size_t i = 0; i < order.size(); ++i)
    if (i == 0 || order[i].first != order[i - 1].first) starts.push_back(i);
  starts.push_back(order.size());

  const float* g = gy.f32();
  const auto groups = static_cast<std::int64_t>(starts.size()) - 1;
  const std::int64_t avg_group_bytes = groups > 0 ? static_cast<std::int64_t>(order.size()) * row_bytes / groups : 0;
  for_rows(groups, avg_group_bytes, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t k = lo; k < hi; ++k) {
      const auto uk = static_cast<std::size_t>(k);
      float* dst = out + order[starts[uk]].first * dim;
      for (std::size_t i = starts[uk]; i < starts[uk + 1]; ++i) {
        const float* src = g + order[i].second * dim;
        for (std::int64_t d = 0; d < dim; ++d) dst[d] += src[d];
      }
    }
  });
  return gt;
}

}  // namespace

Var embedding(const Var& table, const Tensor& ids, std::int64_t padding_idx) {
  require_f32("embedding", table, "table");
  require_i64("embedding", ids, "ids");
  const Shape& ts = table.shape();
  if (ts.rank() != 2)
    throw ShapeError("embedding", fmt::format("table must be [V, D], got {} (ids {})", ts.str(), ids.shape().str()));
  const std::int64_t rows = ts[0], dim = ts[1];
  if (padding_idx >= rows)
    throw IndexError("embedding",
                     fmt::format("padding_idx {} is outside [0, {}) (table {})", padding_idx, rows, ts.str()));
  const std::int64_t* id = ids.i64();
  for (std::int64_t p = 0; p < ids.numel(); ++p)
    if (id[p] < 0 || id[p] >= rows)
      throw IndexError("embedding", fmt::format("id {} at flat position {} of ids {} is outside [0, {}) (table {})",
                                                id[p], p, ids.shape().str(), rows, ts.str()));

  std::vector<std::int64_t> od = ids.shape().dims();
  od.push_back(dim);
  Tensor y = Tensor::empty(Shape(std::move(od)));  // [..., D]
  const float* src = table.value().f32();
  float* dst = y.f32();
  const auto row_bytes = dim * static_cast<std::int64_t>(sizeof(float));
  for_rows(ids.numel(), row_bytes, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p)
      std::memcpy(dst + p * dim, src + id[p] * dim, static_cast<std::size_t>(row_bytes));
  });

  return autograd::make_result(std::move(y), {table}, "embedding",
                               [ids, rows, dim, padding_idx](const Tensor& gy, Grads& g) {
                                 g.add(0, scatter_add(ids, gy, rows, dim, padding_idx));
                               });
}

ATTNLAB_OP(embedding, true, "native",
           "rows of a [V, D] table gathered by i64 ids (deterministic scatter-add backward)");

}  // namespace attnlab::ops
