// Reference embedding: a naive gather and scatter-add (tests only). Ids are carried as
// exactly-representable T values.
#pragma once

#include "framework/ops/reference/array.h"

#include <vector>

namespace attnlab::ops::reference {

/// table [V, D], ids of shape S -> [S..., D], y[p, d] = table[ids[p], d], except that ids equal to
/// padding_idx (if >= 0) give zeros: the padding row is modelled as the constant zero row it is
/// initialised to, which is what makes "no gradient for the padding row" the true derivative.
/// (The real op gathers whatever that row holds; tests keep it zero.)
template <class T>
Array<T> embedding(const Array<T>& table, const Array<T>& ids, std::int64_t padding_idx = -1) {
  const std::int64_t dim = table.shape[1];
  std::vector<std::int64_t> s = ids.shape.dims();
  s.push_back(dim);
  Array<T> y{Shape(s)};
  for (std::int64_t p = 0; p < ids.numel(); ++p) {
    const auto v = static_cast<std::int64_t>(ids[p]);
    if (v == padding_idx) continue;
    for (std::int64_t d = 0; d < dim; ++d) y[p * dim + d] = table[v * dim + d];
  }
  return y;
}

/// d/d table: gt[v, d] = sum of gy[p, d] over the positions p with ids[p] = v != padding_idx.
template <class T>
Array<T> embedding_backward(const Array<T>& table, const Array<T>& ids, const Array<T>& gy, std::int64_t padding_idx) {
  const std::int64_t dim = table.shape[1];
  Array<T> gt(table.shape);
  for (std::int64_t p = 0; p < ids.numel(); ++p) {
    const auto v = static_cast<std::int64_t>(ids[p]);
    if (v == padding_idx) continue;
    for (std::int64_t d = 0; d < dim; ++d) gt[v * dim + d] += gy[p * dim + d];
  }
  return gt;
}

}  // namespace attnlab::ops::reference
