#include "framework/data/splits.h"

#include "framework/core/rng.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace attnlab::data {

Splits random_split(std::int64_t n, double train, double valid, std::uint64_t seed, const std::string& who) {
  if (train < 0 || valid < 0 || train + valid > 1.0 + 1e-12)
    throw DataError(
        fmt::format("{}: split ratios train {} and valid {} must be >= 0 and sum to at most 1", who, train, valid));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  core::Rng rng(seed);
  for (std::int64_t i = n - 1; i > 0; --i)  // Fisher–Yates with our own Rng: the same on every platform
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i + 1))))]);
  const auto n_train = static_cast<std::int64_t>(std::llround(train * static_cast<double>(n)));
  const auto n_valid = std::min(n - n_train, static_cast<std::int64_t>(std::llround(valid * static_cast<double>(n))));
  Splits s;
  s.train.assign(order.begin(), order.begin() + n_train);
  s.valid.assign(order.begin() + n_train, order.begin() + n_train + n_valid);
  s.test.assign(order.begin() + n_train + n_valid, order.end());
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.valid.begin(), s.valid.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

}  // namespace attnlab::data
