// Splits: which examples train, validate and test. Every split function returns disjoint, sorted
// index lists and is deterministic given its seed.
#pragma once

#include "framework/data/examples.h"

#include <cstdint>
#include <string>

namespace attnlab::data {

/// A seeded random split of n examples by ratios (train, valid, test; test = 1 - train - valid).
/// Throws DataError (naming `who`) when a ratio is negative or they exceed 1.
Splits random_split(std::int64_t n, double train, double valid, std::uint64_t seed, const std::string& who);

}  // namespace attnlab::data
