// Model: what a spec's `model:` section describes, assembled from plugins, for one task (model.head)
// or several (model.tasks). One API for both: a single head is one task without a multitask
// structure; forward() and train_losses() return one entry per task.
//
//   tokens i64 [B, T] -> Embedding(vocab, E) (x sqrt(E)) (+ mask vector at masked steps)
//                        (+ positions) (dropout)             [B, T, E]    dense steps f32 [B, T, S] skip it
//                     -> extractor (model.extractor)          [B, T, H]
//                     -> attention (model.attention)          [B, T, A]   or [B, A] when it pools
//                     -> pooling   (model.pooling)            [B, P]      skipped when attention pools
//                     (+ query, side features, concatenated)  [B, P + Q + F*S + D]
//   (data without sequences, feature vectors only: the side features alone)   [B, F*S + D]
//                     -> multitask structure (several tasks)  one [B, R] per task
//                     -> head per task                        predictions [B, ...]
//
// Per-position training (objective.h: all_positions, cloze): the heads score the representation at
// every labelled position instead of the pooled one — [N, A] gathered from [B, T, A] at the
// positions where some task has a label — through the same multitask structure and heads, as a
// batch of N rows. Evaluation (forward) still pools, with `last`: the position after the history.
//
// Each stage is built through the registry (registry::create) from its PluginSpec, with a Context
// holding the previous stage's out_dim(), the sequence length and the model's Rng. Parameters are
// named by stage: "embedding.table", "positions.table", "users.table", "mask_token", "extractor.*",
// "attention.*", "pooling.*", "side_<f>.*", "head.*" (one task) or "multitask.*", "task_<name>.*",
// "weighting.*" (several). With model.query = user or target, the attention receives a query of
// width E: the user's embedding, or the target item's embedding from the item table (DIN). Tied
// heads receive the item table.
#pragma once

#include "framework/data/batcher.h"
#include "framework/model/families.h"
#include "framework/model/objective.h"
#include "framework/model/section.h"
#include "framework/nn/layers.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace attnlab::model {

/// What the data tells the model (the spec's model section does not say it).
struct ModelDims {
  std::int64_t vocab = 0;         ///< token ids lie in [0, vocab)
  std::int64_t seq_len = 0;       ///< T: every batch has exactly this length (flatten pooling needs it)
  std::int64_t num_outputs = 0;   ///< classes (the head's Context::num_outputs)
  std::int64_t query_dim = 0;     ///< width of the query the attention receives; set from the spec (model.query)
  std::int64_t padding_idx = -1;  ///< embedding row kept at zero for padding ids; -1: none
  std::int64_t users = 0;         ///< user ids lie in [0, users) (model.query: user); 0: no users
  std::int64_t step_dim = 0;      ///< > 0: the input is dense steps f32 [B, T, step_dim] (images), no embedding
  std::vector<std::int64_t> side_categorical{};        ///< the data's categorical side features (model.side_features)
  std::int64_t side_dense = 0;                         ///< the data's dense side features (model.side_features)
  std::map<std::string, std::int64_t> task_outputs{};  ///< per task of model.tasks (default: num_outputs)
  std::vector<float> item_counts{};  ///< training frequency of each output id (popularity), may be empty
};

class Model : public nn::Module {
 public:
  /// Builds every stage for `objective` (nullptr: objective last). Throws attnlab::Error when a
  /// dimension of `dims` is < 1 (query_dim and padding_idx excepted) or the model does not suit
  /// the objective (naming the config paths), registry::PluginError for an unknown plugin type,
  /// config::ConfigError for a plugin config that does not bind, and whatever a plugin throws.
  Model(const ModelSection& spec, const ModelDims& dims, core::Rng& rng, const Objective* objective = nullptr);

  /// Every task's predictions from the pooled representation, in task order: [B, ...] each.
  /// Throws ShapeError (naming every shape) or DTypeError on bad input.
  std::vector<autograd::Var> forward(const data::ModelInput& in);
  /// Every task's training loss (heads that need not score every output — sampled softmax, sampled
  /// BCE — score only what they sample). labels: per task, [B] (from the pooled representation) or,
  /// for a per-position objective, [B, T] (at every labelled position). A task without any label in
  /// the batch gets a zero loss that needs no gradient.
  std::vector<autograd::Var> train_losses(const data::ModelInput& in, const std::vector<core::Tensor>& labels);
  /// The heads' losses of forward()'s predictions against labels [B], per task.
  std::vector<autograd::Var> losses(const std::vector<autograd::Var>& predictions,
                                    const std::vector<core::Tensor>& labels);
  /// Backpropagates the task losses into the parameters: one task directly, several through the
  /// weighting (GradNorm/PCGrad see the shared parameters). Losses that need no gradient (baseline
  /// heads) are left out; with none left nothing happens.
  void backward(const std::vector<autograd::Var>& losses);

  /// Task names in order: model.tasks' names, or one "" for model.head.
  const std::vector<std::string>& tasks() const { return task_names_; }
  /// The loss weighting of several tasks; nullptr for one.
  Weighting* weighting() const { return weighting_; }
  /// True when some head samples negatives that avoid the rows' seen items (batches must carry them).
  bool wants_seen() const;
  /// True when the attention pools, so that there is no pooling stage.
  bool attention_pools() const { return attention_ && attention_->pools(); }
  /// False for data without sequences (feature vectors only): the side features are the whole input
  /// and there is no embedding, extractor, attention or pooling.
  bool has_sequence() const { return sequence_; }
  /// True when inputs may be shorter than dims().seq_len (left-padded to the batch's own length,
  /// data.padding: batch): token sequences, and no stage that works at seq_len steps only.
  bool any_length() const;
  /// The attention weights of the last forward (see Attention::weights(); undefined without a sequence).
  const core::Tensor& attention_weights() const;
  const ModelDims& dims() const { return dims_; }
  /// Task t's head (tasks in the order train_losses takes their labels).
  const Head& head(std::size_t t) const { return *heads_.at(t); }

 private:
  struct Sequence {
    autograd::Var x;  // [B, T', A] (or [B, A] when the attention pools)
    autograd::Var query;
  };
  Sequence sequence(const data::ModelInput& in);
  autograd::Var join_side(autograd::Var pooled, const autograd::Var& query, const data::ModelInput& in);
  std::vector<autograd::Var> task_representations(const autograd::Var& h);
  /// Embedding (+ mask token, positions, users), extractor, attention, pooling; returns the pooled width.
  std::int64_t build_sequence_stages(const ModelSection& spec, const ModelDims& dims, std::int64_t in_dim, bool masks,
                                     const nn::Init& init, core::Rng& rng);
  /// The pooled representation [B, P] of the sequence stages (undefined without a sequence), and the query.
  std::pair<autograd::Var, autograd::Var> pooled(const data::ModelInput& in);
  void check_objective(const ModelSection& spec, const Objective& objective) const;

  ModelDims dims_;
  bool sequence_ = true;
  std::string query_;
  core::Rng& rng_;
  bool scale_ = false;
  float dropout_ = 0.f;
  nn::Embedding* embedding_ = nullptr;  // none for dense-step data
  autograd::Var mask_token_;            // [E]: the embedding of a masked step (cloze)
  nn::Positions* positions_ = nullptr;
  nn::Embedding* users_ = nullptr;
  Extractor* extractor_ = nullptr;
  Attention* attention_ = nullptr;
  Pooling* pooling_ = nullptr;
  std::vector<std::string> task_names_;
  MultiTask* multitask_ = nullptr;
  std::vector<Head*> heads_;
  Weighting* weighting_ = nullptr;
  bool join_query_ = false;
  std::vector<nn::Embedding*> side_tables_;
  std::int64_t side_dense_ = 0;
};

}  // namespace attnlab::model
