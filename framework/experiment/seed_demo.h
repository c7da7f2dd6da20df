// `attnlab demo`: the founding article's seed model (experiments/presets/seed.yaml, compiled in)
// trained on the generated marker task (dataset/marker), through the same pipeline as `attnlab run`
// — the registry-built model, the trainer, the data pipeline — into a scratch directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnlab::experiment {

struct DemoOptions {
  std::int64_t vocab = 1000;
  std::int64_t embedding = 32;
  std::int64_t hidden = 64;
  std::int64_t seq_len = 30;
  std::int64_t classes = 200;
  std::int64_t train = 8192;
  std::int64_t valid = 1024;
  int epochs = 6;
  std::int64_t batch = 32;
  float lr = 2e-3f;
  int threads = 1;
  std::uint64_t seed = 1;
  bool quiet = false;
};

struct EpochStats {
  double train_loss, valid_loss, valid_accuracy, seconds;
};

/// The preset's spec with the demo's data and sizes as overrides (Hydra grammar), for `attnlab run`.
std::vector<std::string> demo_overrides(const DemoOptions& o);

/// Runs the demo; prints one line per epoch unless quiet. Returns the per-epoch statistics. Throws
/// attnlab::Error with the trial's message when it fails.
std::vector<EpochStats> run_seed_demo(const DemoOptions& o);

}  // namespace attnlab::experiment
