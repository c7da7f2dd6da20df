#include "framework/experiment/model.h"

#include "framework/ops/ops.h"
#include "framework/registry/registry.h"

namespace attnlab::experiment {

using autograd::Var;
using core::Shape;
using core::Tensor;

SequenceClassifier::SequenceClassifier(const ModelSection& spec, const ModelDims& dims_in, core::Rng& rng)
    : dims_(dims_in), query_(spec.query) {
  ModelDims& dims = dims_;
  if (spec.query != "none") dims.query_dim = spec.embedding;
  if (spec.query == "user" && dims.users < 1)
    throw Error(fmt::format("sequence classifier: model.query is 'user' but the data has no users (users = {})", dims.users));
  if (dims.step_dim > 0 && (spec.query == "target" || spec.positions == "learned"))
    throw Error(fmt::format("sequence classifier: the data has dense steps (width {}), which model.query '{}' and "
                            "model.positions '{}' cannot use (no item embeddings)", dims.step_dim, spec.query, spec.positions));
  if ((dims.vocab < 1 && dims.step_dim < 1) || dims.seq_len < 1 || dims.num_outputs < 1 || dims.query_dim < 0 || spec.embedding < 1)
    throw Error(fmt::format("sequence classifier: need vocab, seq_len, num_outputs and embedding >= 1 and query_dim >= 0 "
                            "(got vocab {}, seq_len {}, num_outputs {}, embedding {}, query_dim {})",
                            dims.vocab, dims.seq_len, dims.num_outputs, spec.embedding, dims.query_dim));
  const std::int64_t in_dim = dims.step_dim > 0 ? dims.step_dim : spec.embedding;
  if (dims.step_dim == 0)
    embedding_ = &add_child("embedding", std::make_unique<nn::Embedding>(dims.vocab, spec.embedding, dims.padding_idx, rng));
  if (spec.positions != "none")
    positions_ = &add_child("positions", std::make_unique<nn::Positions>(spec.positions == "learned", dims.seq_len, in_dim, rng));
  if (spec.query == "user") users_ = &add_child("users", std::make_unique<nn::Embedding>(dims.users, spec.embedding, -1, rng));
  extractor_ = &add_child("extractor", registry::create(spec.extractor, {.in_dim = in_dim, .seq_len = dims.seq_len, .rng = &rng}));
  const std::int64_t steps = extractor_->out_len(dims.seq_len);  // the sequence after the extractor
  attention_ = &add_child("attention", registry::create(spec.attention, {.dim = extractor_->out_dim(), .query_dim = dims.query_dim,
                                                                          .seq_len = steps, .rng = &rng}));
  std::int64_t width = attention_->out_dim();
  if (!attention_->pools()) {
    pooling_ = &add_child("pooling", registry::create(spec.pooling, {.dim = width, .seq_len = steps, .rng = &rng}));
    width = pooling_->out_dim();
  }
  const auto& side_categorical = spec.side_features ? dims.side_categorical : spec.side_categorical;
  for (std::size_t f = 0; f < side_categorical.size(); ++f)
    side_tables_.push_back(&add_child(fmt::format("side_{}", f), std::make_unique<nn::Embedding>(side_categorical[f],
                                                                                                 spec.side_embedding, -1, rng)));
  side_dense_ = spec.side_features ? dims.side_dense : spec.side_dense;
  join_query_ = spec.join_query && dims.query_dim > 0;
  width += static_cast<std::int64_t>(side_tables_.size()) * spec.side_embedding + side_dense_ + (join_query_ ? dims.query_dim : 0);
  model::Head::Context head_ctx;
  head_ctx.in_dim = width;
  head_ctx.num_outputs = dims.num_outputs;
  head_ctx.rng = &rng;
  if (embedding_ && dims.num_outputs == dims.vocab) head_ctx.item_table = embedding_->table();  // outputs are the items: tying is possible
  if (spec.tasks.empty()) {
    head_ = &add_child("head", registry::create(spec.head, head_ctx));
    return;
  }
  for (const auto& [name, _] : spec.tasks) task_names_.push_back(name);
  multitask_ = &add_child("multitask", registry::create(spec.multitask, {.in_dim = width, .tasks = task_names_, .rng = &rng}));
  head_ctx.in_dim = multitask_->out_dim();
  for (const auto& [name, head] : spec.tasks) {
    const auto outputs = dims.task_outputs.find(name);
    head_ctx.num_outputs = outputs == dims.task_outputs.end() ? dims.num_outputs : outputs->second;
    head_ctx.item_table = embedding_ && head_ctx.num_outputs == dims.vocab ? embedding_->table() : Var{};
    task_heads_.push_back(&add_child("task_" + name, registry::create(head, head_ctx)));
  }
  weighting_ = &add_child("weighting", registry::create(spec.weighting, {.tasks = task_names_, .rng = &rng}));
}

Var SequenceClassifier::forward(const Tensor& ids, const Tensor& mask, const Var& query, const SideInputs& side) {
  if (!head_) throw Error("sequence classifier: a multi-task model (model.tasks) predicts with forward_tasks()");
  return head_->forward(trunk(ids, mask, query, side));
}

Var SequenceClassifier::trunk(const Tensor& ids, const Tensor& mask, const Var& query, const SideInputs& side) {
  const auto shapes = [&] {
    return fmt::format("ids {}, mask {}, query {}", ids.shape().str(), mask.defined() ? mask.shape().str() : "none",
                       query.defined() ? query.shape().str() : "none");
  };
  if (dims_.step_dim > 0) {
    if (ids.dtype() != core::DType::f32 || ids.rank() != 3 || ids.shape()[1] != dims_.seq_len || ids.shape()[2] != dims_.step_dim)
      throw ShapeError("sequence classifier",
                       fmt::format("dense steps must be f32 [B, {}, {}]; got {}", dims_.seq_len, dims_.step_dim, shapes()));
  } else {
    if (ids.dtype() != core::DType::i64) throw DTypeError("sequence classifier", "ids must be i64");
    if (ids.rank() != 2 || ids.shape()[1] != dims_.seq_len)
      throw ShapeError("sequence classifier", fmt::format("ids must be [B, {}]; got {}", dims_.seq_len, shapes()));
  }
  const std::int64_t batch = ids.shape()[0];
  if (mask.defined() && (mask.dtype() != core::DType::f32 || mask.shape() != Shape{batch, dims_.seq_len}))
    throw ShapeError("sequence classifier", fmt::format("mask must be f32 of the ids' shape; got {}", shapes()));
  if (dims_.query_dim > 0 ? !query.defined() || query.shape() != Shape{batch, dims_.query_dim} : query.defined())
    throw ShapeError("sequence classifier",
                     dims_.query_dim > 0 ? fmt::format("query must be [{}, {}]; got {}", batch, dims_.query_dim, shapes())
                                         : fmt::format("built without a query (query_dim 0) but got one; {}", shapes()));
  Var e = embedding_ ? embedding_->forward(ids) : Var(ids);       // [B, T, E] (dense steps: [B, T, step_dim])
  if (positions_) e = positions_->forward(e);
  Var x = extractor_->forward(e, mask);                           // [B, T', H]
  // An extractor that changes the length (cnn2d) leaves no padding: later stages get no mask.
  const Tensor later_mask = x.shape()[1] == ids.shape()[1] ? mask : Tensor();
  x = attention_->forward(x, later_mask, query);                  // [B, T', A] or [B, A]
  if (pooling_) x = pooling_->forward(x, later_mask);             // [B, P]
  if (side_tables_.empty() && side_dense_ == 0 && !join_query_) return x;
  const auto nf = static_cast<std::int64_t>(side_tables_.size());
  if (nf > 0 && (!side.categorical.defined() || side.categorical.dtype() != core::DType::i64 ||
                 side.categorical.shape() != Shape{batch, nf}))
    throw ShapeError("sequence classifier", fmt::format("side categorical features must be i64 [{}, {}]; got {}", batch, nf,
                                                        side.categorical.defined() ? side.categorical.shape().str() : "none"));
  if (side_dense_ > 0 && (!side.dense.defined() || side.dense.dtype() != core::DType::f32 || side.dense.shape() != Shape{batch, side_dense_}))
    throw ShapeError("sequence classifier", fmt::format("side dense features must be f32 [{}, {}]; got {}", batch, side_dense_,
                                                        side.dense.defined() ? side.dense.shape().str() : "none"));
  std::vector<Var> parts{x};
  if (join_query_) parts.push_back(query);
  for (std::int64_t f = 0; f < nf; ++f) {
    Tensor column = Tensor::empty(Shape{batch}, core::DType::i64);  // feature f of every sample
    for (std::int64_t b = 0; b < batch; ++b) column.i64()[b] = side.categorical.i64()[b * nf + f];
    parts.push_back(side_tables_[static_cast<std::size_t>(f)]->forward(column));  // [B, S]
  }
  if (side_dense_ > 0) parts.push_back(Var(side.dense));
  return ops::concat(parts, 1);                                   // [B, P + F*S + D]
}

std::vector<Var> SequenceClassifier::forward_tasks(const Tensor& ids, const Tensor& mask, const Var& query, const SideInputs& side) {
  if (!multitask_) throw Error("sequence classifier: a single-task model (model.head) predicts with forward()");
  const auto reps = multitask_->forward(trunk(ids, mask, query, side));
  std::vector<Var> out;
  for (std::size_t t = 0; t < reps.size(); ++t) out.push_back(task_heads_[t]->forward(reps[t]));
  return out;
}

std::vector<Var> SequenceClassifier::task_losses(const std::vector<Var>& predictions, const std::vector<Tensor>& labels) {
  if (predictions.size() != task_heads_.size() || labels.size() != task_heads_.size())
    throw Error(fmt::format("sequence classifier: {} tasks, got {} predictions and {} label tensors", task_heads_.size(),
                            predictions.size(), labels.size()));
  std::vector<Var> losses;
  for (std::size_t t = 0; t < task_heads_.size(); ++t) losses.push_back(task_heads_[t]->loss(predictions[t], labels[t]));
  return losses;
}

void SequenceClassifier::backward_tasks(const std::vector<Var>& losses) {
  weighting_->backward(losses, multitask_->shared_params());
}

Var SequenceClassifier::query_for(const Tensor& query_ids) const {
  if (query_ == "user") return users_->forward(query_ids);
  if (query_ == "target" && embedding_) return embedding_->forward(query_ids);
  return {};
}

Var SequenceClassifier::train_loss(const Tensor& ids, const Tensor& mask, const Var& query, const SideInputs& side,
                                  const Tensor& labels) {
  if (!head_) throw Error("sequence classifier: a multi-task model (model.tasks) has task_train_losses()");
  return head_->train_loss(trunk(ids, mask, query, side), labels);
}

std::vector<Var> SequenceClassifier::task_train_losses(const Tensor& ids, const Tensor& mask, const Var& query,
                                                       const SideInputs& side, const std::vector<Tensor>& labels) {
  if (!multitask_) throw Error("sequence classifier: a single-task model (model.head) has train_loss()");
  if (labels.size() != task_heads_.size())
    throw Error(fmt::format("sequence classifier: {} tasks, got {} label tensors", task_heads_.size(), labels.size()));
  const auto reps = multitask_->forward(trunk(ids, mask, query, side));
  std::vector<Var> losses;
  for (std::size_t t = 0; t < reps.size(); ++t) losses.push_back(task_heads_[t]->train_loss(reps[t], labels[t]));
  return losses;
}

Var SequenceClassifier::loss(const Var& predictions, const Tensor& labels) {
  if (!head_) throw Error("sequence classifier: a multi-task model (model.tasks) has task_losses()");
  return head_->loss(predictions, labels);
}

}  // namespace attnlab::experiment
