// The plugin families: the interface a plugin of each family implements. Each family names itself
// (kFamily, its registry key in `attnlab plugins`) and the Context its factory receives: what
// the model assembly knows when it builds the plugin (input widths, sequence length, the trial's
// Rng). A plugin's typed config is separate (framework/config/binder.h); its constructor takes
// (const Config&, const Context&). Plugins write forward only; gradients come from framework ops.
//
// Shapes: B batch, T sequence length, H hidden width.
#pragma once

#include "framework/autograd/var.h"
#include "framework/core/rng.h"
#include "framework/data/examples.h"
#include "framework/nn/module.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace attnlab::model {

using autograd::Var;
using core::Tensor;

/// Sequence feature extractor: x [B, T, in_dim], mask f32 [B, T] (1 = a real step) -> [B, T, out_dim()].
class Extractor : public nn::Module {
 public:
  static constexpr const char* kFamily = "extractor";
  struct Context {
    std::int64_t in_dim = 0;
    std::int64_t seq_len = 0;
    core::Rng* rng = nullptr;
  };
  virtual Var forward(const Var& x, const Tensor& mask) = 0;
  virtual std::int64_t out_dim() const = 0;
  /// The output's sequence length for an input of `seq_len` steps (cnn2d turns image rows into
  /// spatial positions). The stages after the extractor are built with it.
  virtual std::int64_t out_len(std::int64_t seq_len) const { return seq_len; }
  /// True when output step t depends on input steps <= t only (objectives that train every
  /// position need it: a step must not see the item it predicts).
  virtual bool causal() const { return false; }
  /// True when the extractor works at seq_len steps only (its weights or output size depend on it);
  /// false lets batches be padded to their own length (data.padding: batch).
  virtual bool fixed_length() const { return false; }
};

/// Attention over a sequence. x [B, T, dim], mask f32 [B, T]; `query` [B, query_dim] is the
/// personalisation signal (user embedding, target item) for the variants that use one, undefined
/// otherwise. Returns [B, T, out_dim()] when !pools(), [B, out_dim()] when pools(). The weights of
/// the last call are kept for logging: [B, T, T], [B, heads, T, T] or [B, T].
class Attention : public nn::Module {
 public:
  static constexpr const char* kFamily = "attention";
  struct Context {
    std::int64_t dim = 0;
    std::int64_t query_dim = 0;  // 0: no query available
    std::int64_t seq_len = 0;
    core::Rng* rng = nullptr;
  };
  virtual Var forward(const Var& x, const Tensor& mask, const Var& query) = 0;
  virtual std::int64_t out_dim() const = 0;
  virtual bool pools() const { return false; }
  /// True when output step t depends on steps <= t only (see Extractor::causal).
  virtual bool causal() const { return false; }
  /// The attention weights of the last forward (undefined before the first, or for `none`).
  const Tensor& weights() const { return weights_; }

 protected:
  Tensor weights_;
};

/// Sequence pooling: x [B, T, dim], mask f32 [B, T] -> [B, out_dim()].
class Pooling : public nn::Module {
 public:
  static constexpr const char* kFamily = "pooling";
  struct Context {
    std::int64_t dim = 0;
    std::int64_t seq_len = 0;
    core::Rng* rng = nullptr;
  };
  virtual Var forward(const Var& x, const Tensor& mask) = 0;
  virtual std::int64_t out_dim() const = 0;
  /// True when the pooling works at seq_len steps only (flatten: its output width is seq_len x dim).
  virtual bool fixed_length() const { return false; }
};

/// Multi-task structure: a shared representation [B, in_dim] -> one representation per task.
class MultiTask : public nn::Module {
 public:
  static constexpr const char* kFamily = "multitask";
  struct Context {
    std::int64_t in_dim = 0;
    std::vector<std::string> tasks;
    core::Rng* rng = nullptr;
  };
  virtual std::vector<Var> forward(const Var& x) = 0;
  virtual std::int64_t out_dim() const = 0;
  /// The parameters every task's output depends on (experts, the shared bottom), for loss
  /// weightings that act on shared gradients (GradNorm measures the last of them, PCGrad projects
  /// them). Default: all of the structure's parameters.
  virtual std::vector<Var> shared_params() const { return params(); }
};

/// The items a training row's sampled negatives may avoid (its user's sequence): row r's are
/// items[begin[r], end[r]), sorted ascending. Empty (no rows): nothing to avoid.
struct SeenItems {
  std::span<const std::int64_t> items;
  std::vector<std::int64_t> begin, end;
  bool empty() const { return begin.empty(); }
};

/// Task head: a task representation [B, in_dim] -> predictions, and the task's loss against labels.
/// Missing labels are masked out of the loss: a negative class id (i64 labels) or NaN (f32 labels).
/// A head without parameters (a baseline) returns losses that need no gradient; training skips them.
class Head : public nn::Module {
 public:
  static constexpr const char* kFamily = "head";
  struct Context {
    std::int64_t in_dim = 0;
    std::int64_t num_outputs = 0;  // classes, items or targets, as the dataset reports
    core::Rng* rng = nullptr;
    Var item_table{};      // [items, dim]: the item embeddings, for heads that tie their output to them
    Tensor item_counts{};  // f32 [items]: training-set frequencies (popularity negatives), may be undefined
  };
  /// Scores or predictions [B, ...] (all of them: what evaluation ranks or thresholds).
  virtual Var forward(const Var& h) = 0;
  /// The mean loss of predictions against labels.
  virtual Var loss(const Var& predictions, const Tensor& labels) = 0;
  /// The training loss from the representation; heads that need not score every output (sampled
  /// softmax, sampled BCE) override it. `seen`: per row of h, the items its negatives may avoid
  /// (empty unless the head asked for them with wants_seen()). Default: loss(forward(h), labels).
  virtual Var train_loss(const Var& h, const Tensor& labels, const SeenItems& seen) {
    (void)seen;
    return loss(forward(h), labels);
  }
  Var train_loss(const Var& h, const Tensor& labels) { return train_loss(h, labels, SeenItems{}); }
  /// True when train_loss uses the rows' seen items (the trainer then builds them with each batch).
  virtual bool wants_seen() const { return false; }
  /// The label kinds this head learns from; empty: any. A trial whose task holds labels of another
  /// kind is refused before training (and by validate), naming the head and the labels.
  virtual std::vector<data::LabelKind> label_kinds() const { return {}; }
};

/// Loss weighting: how the per-task losses become parameter gradients.
class Weighting : public nn::Module {
 public:
  static constexpr const char* kFamily = "weighting";
  struct Context {
    std::vector<std::string> tasks;
    core::Rng* rng = nullptr;
  };
  /// The weighted total of the task losses (one-element), for logging and the default backward.
  virtual Var combine(const std::vector<Var>& losses) = 0;
  /// Backpropagates the task losses into the .grad of every parameter (model and weighting's own).
  /// `shared` are the parameters every task uses (the shared bottom / experts), for methods that
  /// act on per-task gradients (PCGrad projects them, GradNorm measures their norms; by default on
  /// the last shared parameter tensor). Default: combine(losses).backward().
  virtual void backward(const std::vector<Var>& losses, const std::vector<Var>& shared) {
    (void)shared;
    combine(losses).backward();
  }
  /// Called after each epoch with the mean loss of every task (DWA uses the last two epochs).
  virtual void end_epoch(const std::vector<double>& task_losses) { (void)task_losses; }
  /// The current weight of each task (for logging).
  virtual std::vector<float> weights() const = 0;
};

}  // namespace attnlab::model
