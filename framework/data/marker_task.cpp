#include "framework/data/marker_task.h"

namespace attnlab::data {

MarkerTask make_marker_task(std::int64_t n, std::int64_t seq_len, std::int64_t vocab, std::int64_t classes,
                            core::Rng& rng) {
  if (vocab < 3 || seq_len < 2 || classes < 1 || n < 0)
    throw Error(
        fmt::format("marker task: need vocab >= 3, seq_len >= 2, classes >= 1, n >= 0 (got vocab {}, seq_len {}, "
                    "classes {}, n {})",
                    vocab, seq_len, classes, n));
  MarkerTask t{core::Tensor::empty(core::Shape{n, seq_len}, core::DType::i64),
               core::Tensor::empty(core::Shape{n}, core::DType::i64),
               core::Tensor::empty(core::Shape{n}, core::DType::i64)};
  std::int64_t* ids = t.ids.i64();
  const auto span = static_cast<std::uint64_t>(vocab - 2);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t* row = ids + i * seq_len;
    for (std::int64_t j = 0; j < seq_len; ++j) row[j] = 2 + static_cast<std::int64_t>(rng.below(span));
    const auto p = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(seq_len - 1)));
    row[p] = kMarkerToken;
    t.marker_pos.i64()[i] = p;
    t.labels.i64()[i] = row[p + 1] % classes;
  }
  return t;
}

}  // namespace attnlab::data
