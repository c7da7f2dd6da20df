// SequenceClassifier: the model a spec's `model:` section describes, assembled from plugins.
//
//   ids i64 [B, T] -> Embedding(vocab, E) (+ positions)   [B, T, E]
//                  -> extractor (model.extractor)          [B, T, H]
//                  -> attention (model.attention)          [B, T, A]   or [B, A] when it pools
//                  -> pooling   (model.pooling)            [B, P]      skipped when attention pools
//                  (+ side features, concatenated)         [B, P + F*S + D]
//                  -> head      (model.head)               [B, C] logits (the head's predictions)
//
// Each stage is built through the registry (registry::create) from its PluginSpec, with a Context
// holding the previous stage's out_dim(), the sequence length and the model's Rng; an attention
// that pools() makes the model skip its pooling stage (model.pooling is then not built at all).
// Parameters are named by stage: "embedding.table", "positions.table", "users.table",
// "extractor.*", "attention.*", "pooling.*", "head.*". With model.query = user or target, the
// attention receives a query of width E: a user embedding, or the target item's embedding from the
// shared item table (DIN); dims.query_dim is then set from the spec. The head receives the item
// table (tied next-item scoring). This is what `attnlab run` will train.
#pragma once

#include "framework/experiment/spec.h"
#include "framework/nn/layers.h"

#include <cstdint>
#include <map>

namespace attnlab::experiment {

/// What the data tells the model (the spec's model section does not say it).
struct ModelDims {
  std::int64_t vocab = 0;         ///< token ids lie in [0, vocab)
  std::int64_t seq_len = 0;       ///< T: every batch has exactly this length (flatten pooling needs it)
  std::int64_t num_outputs = 0;   ///< classes (the head's Context::num_outputs)
  std::int64_t query_dim = 0;     ///< width of the query forward() receives (user embedding...); 0: none
  std::int64_t padding_idx = -1;  ///< embedding row kept at zero for padding ids; -1: none
  std::int64_t users = 0;         ///< user ids lie in [0, users) (model.query: user); 0: no users
  std::int64_t step_dim = 0;      ///< > 0: the input is dense steps f32 [B, T, step_dim] (images), no embedding
  std::vector<std::int64_t> side_categorical{};  ///< the data's categorical side features (model.side_features)
  std::int64_t side_dense = 0;                   ///< the data's dense side features (model.side_features)
  std::map<std::string, std::int64_t> task_outputs{};  ///< per task of model.tasks (default: num_outputs)
};

/// Per-sample side features (model.side_categorical / model.side_dense): categorical ids i64 [B, F]
/// (column f in [0, side_categorical[f])) and dense values f32 [B, D]. Undefined when unused.
struct SideInputs {
  core::Tensor categorical;
  core::Tensor dense;
};

class SequenceClassifier : public nn::Module {
 public:
  /// Builds every stage. Throws attnlab::Error when a dimension of `dims` is < 1 (query_dim and
  /// padding_idx excepted), registry::PluginError for an unknown plugin type, config::ConfigError
  /// for a plugin config that does not bind, and whatever a plugin's constructor throws.
  SequenceClassifier(const ModelSection& spec, const ModelDims& dims, core::Rng& rng);

  /// ids i64 [B, T] with T == seq_len (dense-step models: f32 [B, T, step_dim]), mask f32 [B, T] (1 = real step, 0 = padding; undefined:
  /// every step is real), query [B, query_dim] (required iff query_dim > 0) -> the head's
  /// predictions [B, ...]. Throws ShapeError (naming every shape) or DTypeError on bad input.
  autograd::Var forward(const core::Tensor& ids, const core::Tensor& mask = {}, const autograd::Var& query = {},
                        const SideInputs& side = {});
  /// The query for model.query: the user embeddings (query_ids = user ids) or the target items'
  /// embeddings (query_ids = item ids), [B, embedding]; undefined for query: none.
  autograd::Var query_for(const core::Tensor& query_ids) const;
  /// A multi-task model (model.tasks): each task's predictions, in task-name order.
  std::vector<autograd::Var> forward_tasks(const core::Tensor& ids, const core::Tensor& mask = {}, const autograd::Var& query = {},
                                           const SideInputs& side = {});
  /// Each task's loss against its labels (same order as forward_tasks).
  std::vector<autograd::Var> task_losses(const std::vector<autograd::Var>& predictions, const std::vector<core::Tensor>& labels);
  /// Backpropagates the task losses through the weighting (GradNorm/PCGrad see the shared parameters).
  void backward_tasks(const std::vector<autograd::Var>& losses);
  const std::vector<std::string>& tasks() const { return task_names_; }
  model::Weighting* weighting() const { return weighting_; }
  model::MultiTask* multitask() const { return multitask_; }
  /// The training loss of a single-task model straight from the inputs (the head's train_loss: a
  /// sampled-softmax head scores only the sampled items).
  autograd::Var train_loss(const core::Tensor& ids, const core::Tensor& mask, const autograd::Var& query, const SideInputs& side,
                           const core::Tensor& labels);
  /// The same per task for a multi-task model (task-name order).
  std::vector<autograd::Var> task_train_losses(const core::Tensor& ids, const core::Tensor& mask, const autograd::Var& query,
                                               const SideInputs& side, const std::vector<core::Tensor>& labels);
  /// The head's mean loss of `predictions` (from forward) against labels.
  autograd::Var loss(const autograd::Var& predictions, const core::Tensor& labels);

  /// True when the attention pools, so that there is no pooling stage.
  bool attention_pools() const { return pooling_ == nullptr; }
  /// The attention weights of the last forward (see model::Attention::weights()).
  const core::Tensor& attention_weights() const { return attention_->weights(); }
  const ModelDims& dims() const { return dims_; }

 private:
  ModelDims dims_;
  std::string query_;
  nn::Embedding* embedding_ = nullptr;  // none for dense-step data
  nn::Positions* positions_ = nullptr;
  nn::Embedding* users_ = nullptr;
  model::Extractor* extractor_ = nullptr;
  model::Attention* attention_ = nullptr;
  model::Pooling* pooling_ = nullptr;
  model::Head* head_ = nullptr;
  std::vector<std::string> task_names_;
  model::MultiTask* multitask_ = nullptr;
  std::vector<model::Head*> task_heads_;
  model::Weighting* weighting_ = nullptr;

  bool join_query_ = false;
  std::vector<nn::Embedding*> side_tables_;
  std::int64_t side_dense_ = 0;

  autograd::Var trunk(const core::Tensor& ids, const core::Tensor& mask, const autograd::Var& query, const SideInputs& side);
};

}  // namespace attnlab::experiment
