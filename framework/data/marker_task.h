// A small generated task for the seed model's demo, tests and benchmark (the full synthetic
// dataset plugin with planted attention comes with the data issue).
//
// Each sequence holds random tokens in [2, vocab); the marker token 1 stands at one random position
// p < T - 1, and the label is (token at p + 1) mod classes. Nothing but the token after the marker
// matters, so a model that learns to attend to it solves the task; position p is recorded so that
// attention weights can be scored against it.
#pragma once

#include "framework/core/rng.h"
#include "framework/core/tensor.h"

namespace attnlab::data {

struct MarkerTask {
  core::Tensor ids;         // i64 [N, T]
  core::Tensor labels;      // i64 [N]
  core::Tensor marker_pos;  // i64 [N], the marker's position p
};

inline constexpr std::int64_t kMarkerToken = 1;

/// Throws attnlab::Error when vocab < 3, seq_len < 2 or classes < 1.
MarkerTask make_marker_task(std::int64_t n, std::int64_t seq_len, std::int64_t vocab, std::int64_t classes,
                            core::Rng& rng);

}  // namespace attnlab::data
