// Reference masked_fill (tests only): the mask broadcasts to x's shape.
#pragma once

#include "framework/ops/reference/binary.h"

namespace attnlab::ops::reference {

template <class T>
Array<T> masked_fill(const Array<T>& x, const Array<T>& mask, T value) {
  Array<T> y(x.shape);
  for (std::int64_t i = 0; i < x.numel(); ++i)
    y[i] = mask[broadcast_offset(mask.shape, x.shape, unravel(x.shape, i))] != T(0) ? value : x[i];
  return y;
}

/// The output gradient where the mask is 0, and 0 where it is set.
template <class T>
Array<T> masked_fill_grad(const Array<T>& mask, const Array<T>& gy) {
  return masked_fill(gy, mask, T(0));
}

}  // namespace attnlab::ops::reference
