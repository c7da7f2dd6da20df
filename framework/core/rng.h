// Rng: the seeded random source of a trial. xoshiro256** (Blackman & Vigna) seeded through
// splitmix64, with distributions written here rather than taken from <random>, whose
// distributions differ between standard libraries: the same seed gives the same numbers on every
// machine and compiler. The state is four words, so checkpoints can save and restore it exactly.
#pragma once

#include <array>
#include <cstdint>

namespace attnlab::core {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed);
  /// An independent stream derived from this generator's seed material and `stream` (e.g. one for
  /// dropout, one for data shuffling), without advancing this generator.
  Rng fork(std::uint64_t stream) const;

  std::uint64_t next_u64();
  /// Uniform in [0, 1) with 24 random bits (exactly representable in f32).
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Standard normal by Box-Muller (the spare value is cached, and part of the state).
  double normal();
  float normal(float mean, float stddev) { return mean + stddev * static_cast<float>(normal()); }
  /// Uniform integer in [0, n), without modulo bias. n must be > 0.
  std::uint64_t below(std::uint64_t n);
  bool bernoulli(float p) { return uniform() < p; }

  State state() const { return s_; }
  void set_state(const State& s) {
    s_ = s;
    has_spare_ = false;
  }

 private:
  State s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace attnlab::core
