#include "framework/experiment/seed_demo.h"

#include "framework/data/marker_task.h"
#include "framework/experiment/seed_model.h"
#include "framework/onednn/onednn.h"
#include "framework/ops/ops.h"
#include "framework/optim/adam.h"

#include <chrono>
#include <cstring>

namespace attnlab::experiment {
namespace {

using core::Tensor;

// Rows [begin, begin + n) of a [N, ...] tensor, in the order given by perm (a batch).
Tensor gather_rows(const Tensor& t, const std::vector<std::int64_t>& perm, std::int64_t begin, std::int64_t n) {
  core::Shape s = t.shape();
  s[0] = n;
  Tensor out = Tensor::empty(s, t.dtype());
  const std::int64_t row = t.numel() / t.shape()[0];
  const std::size_t bytes = static_cast<std::size_t>(row) * core::size_of(t.dtype());
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(static_cast<char*>(out.raw()) + static_cast<std::size_t>(i) * bytes,
                static_cast<const char*>(t.raw()) + static_cast<std::size_t>(perm[static_cast<std::size_t>(begin + i)]) * bytes, bytes);
  return out;
}

}  // namespace

std::vector<EpochStats> run_seed_demo(const DemoOptions& o) {
  onednn::set_threads(o.threads);
  core::Rng rng(o.seed);
  core::Rng data_rng = rng.fork(1), init_rng = rng.fork(2), shuffle_rng = rng.fork(3);
  const auto train = data::make_marker_task(o.train, o.seq_len, o.vocab, o.classes, data_rng);
  const auto valid = data::make_marker_task(o.valid, o.seq_len, o.vocab, o.classes, data_rng);

  SeedModel model({o.vocab, o.embedding, o.hidden, o.seq_len, o.classes}, init_rng);
  optim::Adam opt(model.params(), {.lr = o.lr});
  if (!o.quiet)
    fmt::print("seed model: {} parameters; marker task: {} train / {} valid sequences of length {}, {} classes\n",
               model.num_params(), o.train, o.valid, o.seq_len, o.classes);

  std::vector<std::int64_t> order(static_cast<std::size_t>(o.train));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  std::vector<std::int64_t> identity(static_cast<std::size_t>(o.valid));
  for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<std::int64_t>(i);

  std::vector<EpochStats> stats;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_rng.below(i)]);
    model.train();
    double loss_sum = 0;
    std::int64_t batches = 0;
    for (std::int64_t b = 0; b + o.batch <= o.train; b += o.batch) {
      const Tensor ids = gather_rows(train.ids, order, b, o.batch);
      const Tensor labels = gather_rows(train.labels, order, b, o.batch);
      opt.zero_grad();
      autograd::Var loss = ops::softmax_cross_entropy(model.forward(ids), labels);
      loss.backward();
      opt.step();
      loss_sum += loss.value().item();
      ++batches;
    }
    model.eval();
    double vloss = 0;
    std::int64_t correct = 0, seen = 0;
    {
      autograd::NoGrad no_grad;
      for (std::int64_t b = 0; b < o.valid; b += o.batch) {
        const std::int64_t n = std::min(o.batch, o.valid - b);
        const Tensor ids = gather_rows(valid.ids, identity, b, n);
        const Tensor labels = gather_rows(valid.labels, identity, b, n);
        autograd::Var logits = model.forward(ids);
        vloss += ops::softmax_cross_entropy(logits, labels).value().item() * static_cast<double>(n);
        const float* z = logits.value().f32();
        for (std::int64_t i = 0; i < n; ++i) {
          const float* row = z + i * o.classes;
          const auto best = std::max_element(row, row + o.classes) - row;
          correct += best == labels.i64()[i];
        }
        seen += n;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats.push_back({loss_sum / static_cast<double>(std::max<std::int64_t>(batches, 1)), vloss / static_cast<double>(seen),
                     static_cast<double>(correct) / static_cast<double>(seen), secs});
    if (!o.quiet)
      fmt::print("epoch {:2d}  train loss {:.4f}  valid loss {:.4f}  valid accuracy {:.3f}  ({:.1f} s)\n", epoch,
                 stats.back().train_loss, stats.back().valid_loss, stats.back().valid_accuracy, secs);
  }
  return stats;
}

}  // namespace attnlab::experiment
