// The seed model's full training step (forward, loss, backward, Adam), timed. Prints one JSON line.
// Run through bench/bench_seed.py, which runs PyTorch's side in the same invocation.
#include "framework/core/rng.h"
#include "framework/core/tensor.h"
#include "framework/experiment/seed_model.h"
#include "framework/onednn/onednn.h"
#include "framework/ops/ops.h"
#include "framework/optim/adam.h"

#include <chrono>
#include <cstdlib>
#include <string>

using namespace attnlab;

int main(int argc, char** argv) {
  std::int64_t batch = 32, steps = 20, warmup = 3;
  int threads = 1;
  experiment::SeedConfig cfg;  // the sizes: T=50, vocab 5000, emb 64, LSTM 128, 1000 classes
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (k == "--batch") batch = v;
    else if (k == "--steps") steps = v;
    else if (k == "--warmup") warmup = v;
    else if (k == "--threads") threads = static_cast<int>(v);
    else if (k == "--seq-len") cfg.seq_len = v;
    else if (k == "--vocab") cfg.vocab = v;
    else if (k == "--emb") cfg.embedding = v;
    else if (k == "--hidden") cfg.hidden = v;
    else if (k == "--classes") cfg.classes = v;
    else {
      fmt::print(stderr, "bench_seed_step: unknown option {}\n", k);
      return 2;
    }
  }
  onednn::set_threads(threads);
  core::Rng rng(0);
  experiment::SeedModel model(cfg, rng);
  optim::Adam opt(model.params(), {.lr = 1e-3f});
  core::Tensor ids = core::Tensor::empty(core::Shape{batch, cfg.seq_len}, core::DType::i64);
  core::Tensor labels = core::Tensor::empty(core::Shape{batch}, core::DType::i64);
  for (std::int64_t i = 0; i < ids.numel(); ++i) ids.i64()[i] = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cfg.vocab)));
  for (std::int64_t i = 0; i < batch; ++i) labels.i64()[i] = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cfg.classes)));

  auto step = [&] {
    opt.zero_grad();
    autograd::Var loss = ops::softmax_cross_entropy(model.forward(ids), labels);
    loss.backward();
    opt.step();
  };
  for (std::int64_t i = 0; i < warmup; ++i) step();
  const auto misses = onednn::cache_stats().misses;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < steps; ++i) step();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("{{\"samples_per_s\": {:.2f}, \"ms_per_step\": {:.3f}, \"kernels_built_while_timed\": {}, \"peak_tensor_mb\": {:.1f}}}\n",
             static_cast<double>(batch * steps) / dt, 1000.0 * dt / static_cast<double>(steps),
             onednn::cache_stats().misses - misses, static_cast<double>(core::tensor_bytes_peak()) / (1 << 20));
  return 0;
}
