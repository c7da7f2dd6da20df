// Parallel loops for native kernels (not part of the public op API).
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>

namespace attnlab::ops {

/// Below this many bytes of work a loop runs on the calling thread: a TBB fork costs more.
inline constexpr std::int64_t kParallelBytes = std::int64_t{1} << 17;

/// Runs body(lo, hi) over [0, rows), split across the current task arena's threads when the rows
/// hold enough bytes to pay for it. Chunks are disjoint; body must not depend on how rows are split.
template <class Body>
void for_rows(std::int64_t rows, std::int64_t row_bytes, Body&& body) {
  if (rows <= 0) return;
  if (rows == 1 || rows * row_bytes < kParallelBytes) return body(std::int64_t{0}, rows);
  const std::int64_t grain = std::max<std::int64_t>(1, kParallelBytes / std::max<std::int64_t>(row_bytes, 1));
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, rows, grain),
                    [&](const tbb::blocked_range<std::int64_t>& r) { body(r.begin(), r.end()); });
}

}  // namespace attnlab::ops
