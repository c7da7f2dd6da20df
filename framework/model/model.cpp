#include "framework/model/model.h"

#include "framework/nn/init.h"
#include "framework/ops/ops.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

#include <cmath>
#include <limits>

namespace attnlab::model {

using autograd::Var;
using core::Shape;
using core::Tensor;

namespace {

nn::Init embedding_init(const ModelSection& spec, core::Rng& rng) {
  const auto std = static_cast<float>(spec.embedding_std);
  if (spec.embedding_init == "truncated_normal") return nn::init::trunc_normal(rng, std);
  if (spec.embedding_init == "xavier_uniform") return nn::init::xavier_uniform(rng);
  if (spec.embedding_init == "xavier_normal") return nn::init::xavier_normal(rng);
  if (spec.embedding_init == "normal") return nn::init::normal(rng, 0.0f, std);
  throw Error(fmt::format("model.embedding_init: unknown initialisation '{}'", spec.embedding_init));
}

/// Per-position training pads its gathered rows to a multiple of this (see train_losses).
constexpr std::size_t kRowBucket = 64;

bool labelled(const Tensor& labels, std::int64_t i) {
  return labels.dtype() == core::DType::i64 ? labels.i64()[i] >= 0 : !std::isnan(labels.f32()[i]);
}

/// Rows `index` of a [N, ...] label tensor.
Tensor gather_labels(const Tensor& labels, const std::vector<std::int64_t>& index) {
  const auto n = static_cast<std::int64_t>(index.size());
  Tensor out = Tensor::empty(Shape{n}, labels.dtype());
  for (std::int64_t k = 0; k < n; ++k) {
    const auto i = index[static_cast<std::size_t>(k)];
    if (labels.dtype() == core::DType::i64)
      out.i64()[k] = labels.i64()[i];
    else
      out.f32()[k] = labels.f32()[i];
  }
  return out;
}

}  // namespace

Model::Model(const ModelSection& spec, const ModelDims& dims_in, core::Rng& rng, const Objective* objective)
    : dims_(dims_in), query_(spec.query), rng_(rng), scale_(spec.embedding_scale),
      dropout_(static_cast<float>(spec.embedding_dropout)) {
  ModelDims& dims = dims_;
  if (spec.query != "none") dims.query_dim = spec.embedding;
  if (spec.query == "user" && dims.users < 1)
    throw Error(fmt::format("model: model.query is 'user' but the data has no users (users = {})", dims.users));
  if (dims.step_dim > 0 && (spec.query == "target" || spec.positions == "learned"))
    throw Error(fmt::format(
        "model: the data has dense steps (width {}), which model.query '{}' and model.positions '{}' cannot "
        "use (no item embeddings)",
        dims.step_dim, spec.query, spec.positions));
  if (dims.vocab < 0 || dims.seq_len < 1 || dims.num_outputs < 1 || dims.query_dim < 0 || spec.embedding < 1)
    throw Error(
        fmt::format("model: need seq_len, num_outputs and embedding >= 1, vocab and query_dim >= 0 "
                    "(got vocab {}, seq_len {}, num_outputs {}, embedding {}, query_dim {})",
                    dims.vocab, dims.seq_len, dims.num_outputs, spec.embedding, dims.query_dim));
  sequence_ = dims.vocab > 0 || dims.step_dim > 0;
  if (!sequence_) {
    // Feature vectors only (a table of numeric columns): the side features are the whole input.
    if (spec.query != "none" || (objective && objective->per_position()))
      throw Error(fmt::format(
          "model: the data has no sequences (no tokens, no dense steps), so model.query '{}'{} cannot apply",
          spec.query, objective && objective->per_position() ? " and a per-position train.objective" : ""));
    if (!spec.side_features && spec.side_dense == 0 && spec.side_categorical.empty())
      throw Error(
          "model: the data has no sequences (no tokens, no dense steps), only features: set model.side_features: true "
          "so "
          "that they feed the model");
  }
  const bool masks = objective && objective->masks_inputs();
  if (masks && dims.step_dim > 0)
    throw Error("model: train.objective masks input steps, which dense-step data (images) cannot have");
  const std::int64_t in_dim = dims.step_dim > 0 ? dims.step_dim : spec.embedding;
  const nn::Init init = embedding_init(spec, rng);
  std::int64_t width = sequence_ ? build_sequence_stages(spec, dims, in_dim, masks, init, rng) : 0;
  const auto& side_categorical = spec.side_features ? dims.side_categorical : spec.side_categorical;
  for (std::size_t f = 0; f < side_categorical.size(); ++f)
    side_tables_.push_back(&add_child(
        fmt::format("side_{}", f), std::make_unique<nn::Embedding>(side_categorical[f], spec.side_embedding, -1, rng)));
  side_dense_ = spec.side_features ? dims.side_dense : spec.side_dense;
  join_query_ = spec.join_query && dims.query_dim > 0;
  width += static_cast<std::int64_t>(side_tables_.size()) * spec.side_embedding + side_dense_ +
           (join_query_ ? dims.query_dim : 0);
  if (objective && objective->per_position()) check_objective(spec, *objective);
  if (width < 1) throw Error("model: the side features give the model no input (no categorical and no dense feature)");

  Head::Context head_ctx;
  head_ctx.in_dim = width;
  head_ctx.rng = &rng;
  if (!dims.item_counts.empty())
    head_ctx.item_counts = Tensor::from(dims.item_counts, Shape{static_cast<std::int64_t>(dims.item_counts.size())});
  const auto with_outputs = [&](std::int64_t outputs) {
    head_ctx.num_outputs = outputs;
    // The outputs are the items: a head may tie its scores to the item table.
    head_ctx.item_table = embedding_ && outputs == dims.vocab ? embedding_->table() : Var{};
    if (head_ctx.item_counts.defined() && head_ctx.item_counts.numel() != outputs) head_ctx.item_counts = Tensor();
    return head_ctx;
  };
  if (spec.tasks.empty()) {
    task_names_.push_back("");
    heads_.push_back(&add_child("head", registry::create(spec.head, with_outputs(dims.num_outputs))));
    return;
  }
  for (const auto& [name, _] : spec.tasks) task_names_.push_back(name);
  multitask_ =
      &add_child("multitask", registry::create(spec.multitask, {.in_dim = width, .tasks = task_names_, .rng = &rng}));
  head_ctx.in_dim = multitask_->out_dim();
  for (const auto& [name, head] : spec.tasks) {
    const auto outputs = dims.task_outputs.find(name);
    heads_.push_back(&add_child(
        "task_" + name,
        registry::create(head, with_outputs(outputs == dims.task_outputs.end() ? dims.num_outputs : outputs->second))));
  }
  weighting_ = &add_child("weighting", registry::create(spec.weighting, {.tasks = task_names_, .rng = &rng}));
}

std::int64_t Model::build_sequence_stages(const ModelSection& spec, const ModelDims& dims, std::int64_t in_dim,
                                          bool masks, const nn::Init& init, core::Rng& rng) {
  if (dims.step_dim == 0)
    embedding_ =
        &add_child("embedding", std::make_unique<nn::Embedding>(dims.vocab, spec.embedding, dims.padding_idx, init));
  if (masks) mask_token_ = add_param("mask_token", Shape{spec.embedding}, init);
  if (spec.positions == "learned")
    positions_ = &add_child("positions", std::make_unique<nn::Positions>(dims.seq_len, in_dim, init));
  else if (spec.positions != "none")
    positions_ = &add_child("positions", std::make_unique<nn::Positions>(false, dims.seq_len, in_dim, rng));
  if (spec.query == "user")
    users_ = &add_child("users", std::make_unique<nn::Embedding>(dims.users, spec.embedding, -1, init));
  extractor_ = &add_child("extractor",
                          registry::create(spec.extractor, {.in_dim = in_dim, .seq_len = dims.seq_len, .rng = &rng}));
  const std::int64_t steps = extractor_->out_len(dims.seq_len);  // the sequence after the extractor
  attention_ = &add_child(
      "attention",
      registry::create(spec.attention,
                       {.dim = extractor_->out_dim(), .query_dim = dims.query_dim, .seq_len = steps, .rng = &rng}));
  if (attention_->pools()) return attention_->out_dim();
  pooling_ = &add_child("pooling",
                        registry::create(spec.pooling, {.dim = attention_->out_dim(), .seq_len = steps, .rng = &rng}));
  return pooling_->out_dim();
}

void Model::check_objective(const ModelSection& spec, const Objective& objective) const {
  if (attention_->pools())
    throw Error(fmt::format(
        "model.attention: {{type: {}}} pools the sequence, but the training objective scores every position; "
        "use an attention that keeps the steps (none, scaled_dot, multi_head)",
        spec.attention.type));
  if (spec.pooling.type != "last")
    throw Error(fmt::format(
        "model.pooling: the training objective trains every position and evaluation scores the last one, so "
        "pooling must be {{type: last}} (got {{type: {}}})",
        spec.pooling.type));
  if (spec.query != "none" || join_query_ || !side_tables_.empty() || side_dense_ > 0)
    throw Error(
        "model: the training objective scores every position, and the query and side features (model.query, "
        "model.join_query, model.side_*) are per sequence; use train.objective {type: last} with them");
  if (extractor_->out_len(dims_.seq_len) != dims_.seq_len)
    throw Error(fmt::format(
        "model.extractor: {{type: {}}} changes the sequence length, so its steps are not the input's positions",
        spec.extractor.type));
  if (objective.needs_causal() && !extractor_->causal())
    throw Error(fmt::format(
        "model.extractor: {{type: {}}} lets a step see later steps, so training every position would show each "
        "step the item it predicts; make it causal (transformer/cnn: causal: true; lstm/gru: "
        "bidirectional: false)",
        spec.extractor.type));
  if (objective.needs_causal() && !attention_->causal())
    throw Error(fmt::format(
        "model.attention: {{type: {}}} lets a step see later steps, so training every position would show each "
        "step the item it predicts; use none, or causal: true (scaled_dot, multi_head, additive)",
        spec.attention.type));
}

bool Model::any_length() const {
  return sequence_ && dims_.step_dim == 0 && !extractor_->fixed_length() && !(pooling_ && pooling_->fixed_length());
}

bool Model::wants_seen() const {
  for (const auto* h : heads_)
    if (h->wants_seen()) return true;
  return false;
}

Model::Sequence Model::sequence(const data::ModelInput& in) {
  const Tensor& tokens = in.tokens;
  if (!tokens.defined()) throw ShapeError("model", "the input has no tokens");
  const auto shapes = [&] {
    return fmt::format("tokens {}, mask {}", tokens.shape().str(), in.mask.defined() ? in.mask.shape().str() : "none");
  };
  if (dims_.step_dim > 0) {
    if (tokens.dtype() != core::DType::f32 || tokens.rank() != 3 || tokens.shape()[1] != dims_.seq_len ||
        tokens.shape()[2] != dims_.step_dim)
      throw ShapeError(
          "model", fmt::format("dense steps must be f32 [B, {}, {}]; got {}", dims_.seq_len, dims_.step_dim, shapes()));
  } else {
    if (tokens.dtype() != core::DType::i64) throw DTypeError("model", "token ids must be i64");
    if (tokens.rank() != 2 || tokens.shape()[1] < 1 || tokens.shape()[1] > dims_.seq_len ||
        (tokens.shape()[1] != dims_.seq_len && !any_length()))
      throw ShapeError("model", fmt::format("token ids must be [B, {}]{}; got {}", dims_.seq_len,
                                            any_length() ? " or shorter (left-padded)" : "", shapes()));
  }
  const std::int64_t batch = tokens.shape()[0];
  const Shape bt{batch, tokens.shape()[1]};
  if (in.mask.defined() && (in.mask.dtype() != core::DType::f32 || in.mask.shape() != bt))
    throw ShapeError("model", fmt::format("mask must be f32 [B, T] like the tokens; got {}", shapes()));
  if (in.masked.defined() &&
      (!mask_token_.defined() || in.masked.dtype() != core::DType::f32 || in.masked.shape() != bt))
    throw ShapeError(
        "model",
        mask_token_.defined()
            ? fmt::format("masked steps must be f32 [B, T] like the tokens; got {}", in.masked.shape().str())
            : std::string(
                  "the input has masked steps, but the model has no mask token (train.objective cloze makes one)"));

  Sequence s;
  if (query_ == "user") {
    if (!in.users.defined() || in.users.shape() != Shape{batch})
      throw ShapeError("model", fmt::format("model.query user needs user ids i64 [{}]; got {}", batch,
                                            in.users.defined() ? in.users.shape().str() : "none"));
    s.query = users_->forward(in.users);  // [B, E]
  } else if (query_ == "target") {
    if (!in.targets.defined() || in.targets.shape() != Shape{batch})
      throw ShapeError("model", fmt::format("model.query target needs target items i64 [{}]; got {}", batch,
                                            in.targets.defined() ? in.targets.shape().str() : "none"));
    s.query = embedding_->forward(in.targets);  // [B, E]
  }

  Var e = embedding_ ? embedding_->forward(tokens) : Var(tokens);  // [B, T, E] (dense steps: [B, T, step_dim])
  if (in.masked.defined())  // masked steps carry id 0 (a zero row): add the mask token's embedding there
    e = e + Var(in.masked.reshape(Shape{batch, bt[1], 1})) * mask_token_;
  if (scale_) e = e * std::sqrt(static_cast<float>(e.shape()[2]));
  if (positions_) e = positions_->forward(e);
  if (dropout_ > 0.f) e = ops::dropout(e, dropout_, training(), rng_);
  Var x = extractor_->forward(e, in.mask);  // [B, T', H]
  // An extractor that changes the length (cnn2d) leaves no padding: later stages get no mask.
  const Tensor later_mask = x.shape()[1] == tokens.shape()[1] ? in.mask : Tensor();
  s.x = attention_->forward(x, later_mask, s.query);  // [B, T', A] or [B, A]
  return s;
}

Var Model::join_side(Var x, const Var& query, const data::ModelInput& in) {
  if (side_tables_.empty() && side_dense_ == 0 && !join_query_) return x;
  const std::int64_t batch = in.size();
  const auto nf = static_cast<std::int64_t>(side_tables_.size());
  const Tensor& cat = in.categorical;
  if (nf > 0 && (!cat.defined() || cat.dtype() != core::DType::i64 || cat.shape() != Shape{batch, nf}))
    throw ShapeError("model", fmt::format("side categorical features must be i64 [{}, {}]; got {}", batch, nf,
                                          cat.defined() ? cat.shape().str() : "none"));
  if (side_dense_ > 0 &&
      (!in.dense.defined() || in.dense.dtype() != core::DType::f32 || in.dense.shape() != Shape{batch, side_dense_}))
    throw ShapeError("model", fmt::format("side dense features must be f32 [{}, {}]; got {}", batch, side_dense_,
                                          in.dense.defined() ? in.dense.shape().str() : "none"));
  std::vector<Var> parts;
  if (x.defined()) parts.push_back(x);
  if (join_query_) parts.push_back(query);
  for (std::int64_t f = 0; f < nf; ++f) {
    Tensor column = Tensor::empty(Shape{batch}, core::DType::i64);  // feature f of every sample
    for (std::int64_t b = 0; b < batch; ++b) column.i64()[b] = cat.i64()[b * nf + f];
    parts.push_back(side_tables_[static_cast<std::size_t>(f)]->forward(column));  // [B, S]
  }
  if (side_dense_ > 0) parts.push_back(Var(in.dense));
  return ops::concat(parts, 1);  // [B, P + Q + F*S + D]
}

std::vector<Var> Model::task_representations(const Var& h) {
  if (!multitask_) return {h};
  return multitask_->forward(h);
}

std::pair<Var, Var> Model::pooled(const data::ModelInput& in) {
  if (!sequence_) return {};
  Sequence s = sequence(in);
  Var h = pooling_
              ? pooling_->forward(s.x, s.x.rank() == 3 && s.x.shape()[1] == in.tokens.shape()[1] ? in.mask : Tensor())
              : s.x;  // [B, P]
  return {h, s.query};
}

const Tensor& Model::attention_weights() const {
  static const Tensor kNone;
  return attention_ ? attention_->weights() : kNone;
}

std::vector<Var> Model::forward(const data::ModelInput& in) {
  const auto [h, query] = pooled(in);
  const auto reps = task_representations(join_side(h, query, in));
  std::vector<Var> out;
  for (std::size_t t = 0; t < heads_.size(); ++t) out.push_back(heads_[t]->forward(reps[t]));
  return out;
}

std::vector<Var> Model::train_losses(const data::ModelInput& in, const std::vector<Tensor>& labels) {
  if (labels.size() != heads_.size())
    throw Error(fmt::format("model: {} task{}, got {} label tensors", heads_.size(), heads_.size() == 1 ? "" : "s",
                            labels.size()));
  const std::int64_t batch = in.size();
  SeenItems seen;
  if (!in.seen_offsets.empty() && static_cast<std::int64_t>(in.seen_offsets.size()) != batch + 1)
    throw ShapeError("model", fmt::format("seen items: {} offsets for a batch of {}", in.seen_offsets.size(), batch));
  const bool with_seen = !in.seen_offsets.empty() && wants_seen();
  if (with_seen) seen.items = in.seen_items;
  const bool per_position = !labels.empty() && labels[0].rank() == 2;
  for (const auto& l : labels)
    if (l.rank() != (per_position ? 2 : 1) || l.shape()[0] != batch ||
        (per_position && in.tokens.defined() && l.shape()[1] != in.tokens.shape()[1]))
      throw ShapeError("model", fmt::format("labels must all be [{}] or all [{}, T] (per position, T of the tokens); "
                                            "got {}",
                                            batch, batch, l.shape().str()));

  std::vector<Var> reps;
  std::vector<Tensor> task_labels;
  if (!per_position) {
    const auto [h, query] = pooled(in);
    reps = task_representations(join_side(h, query, in));
    task_labels = labels;
    if (with_seen)
      for (std::int64_t b = 0; b < batch; ++b) {
        seen.begin.push_back(in.seen_offsets[static_cast<std::size_t>(b)]);
        seen.end.push_back(in.seen_offsets[static_cast<std::size_t>(b) + 1]);
      }
  } else {
    if (!pooling_)
      throw Error(
          "model: per-position labels need a model that keeps the steps (it was built for train.objective last)");
    Sequence s = sequence(in);  // [B, T, A]
    const std::int64_t t_len = s.x.shape()[1], width = s.x.shape()[2];
    std::vector<std::int64_t> index;  // flat positions b * T + t where some task has a label
    for (std::int64_t i = 0; i < batch * t_len; ++i)
      for (const auto& l : labels)
        if (labelled(l, i)) {
          index.push_back(i);
          break;
        }
    if (index.empty()) {
      std::vector<Var> zeros(heads_.size(), Var(Tensor::scalar(0.f)));
      return zeros;
    }
    // The labelled count changes from batch to batch; every distinct count would build its own
    // kernels (matmul, softmax) in the heads. Rounding it up to a multiple of kRowBucket with rows
    // that carry no label (missing: they add nothing to any loss or gradient) bounds the shapes.
    const std::size_t labelled_rows = index.size();
    const auto n = static_cast<std::int64_t>((labelled_rows + kRowBucket - 1) / kRowBucket * kRowBucket);
    index.resize(static_cast<std::size_t>(n), index.front());
    const Var h =
        ops::embedding(ops::reshape(s.x, Shape{batch * t_len, width}), Tensor::from_i64(index, Shape{n}));  // [N, A]
    reps = task_representations(h);
    for (const auto& l : labels) {
      task_labels.push_back(gather_labels(l, index));
      Tensor& gathered = task_labels.back();
      for (auto k = static_cast<std::int64_t>(labelled_rows); k < n; ++k)
        if (gathered.dtype() == core::DType::i64)
          gathered.i64()[k] = -1;
        else
          gathered.f32()[k] = std::numeric_limits<float>::quiet_NaN();
    }
    if (with_seen)
      for (const auto i : index) {
        const auto b = static_cast<std::size_t>(i / t_len);
        seen.begin.push_back(in.seen_offsets[b]);
        seen.end.push_back(in.seen_offsets[b + 1]);
      }
  }
  std::vector<Var> losses;
  for (std::size_t t = 0; t < heads_.size(); ++t)
    losses.push_back(heads_[t]->train_loss(reps[t], task_labels[t], seen));
  return losses;
}

std::vector<Var> Model::losses(const std::vector<Var>& predictions, const std::vector<Tensor>& labels) {
  if (predictions.size() != heads_.size() || labels.size() != heads_.size())
    throw Error(fmt::format("model: {} tasks, got {} predictions and {} label tensors", heads_.size(),
                            predictions.size(), labels.size()));
  std::vector<Var> out;
  for (std::size_t t = 0; t < heads_.size(); ++t) out.push_back(heads_[t]->loss(predictions[t], labels[t]));
  return out;
}

void Model::backward(const std::vector<Var>& losses) {
  if (losses.size() != heads_.size())
    throw Error(fmt::format("model: {} tasks, got {} losses", heads_.size(), losses.size()));
  bool any = false;
  for (const auto& l : losses) any = any || l.requires_grad();
  if (!any) return;
  if (!weighting_) {
    losses[0].backward();
    return;
  }
  std::vector<Var> trained = losses;
  for (auto& l : trained)  // a baseline task joins the weighting as a constant
    if (!l.requires_grad()) l = Var(l.value(), false);
  weighting_->backward(trained, multitask_->shared_params());
}

}  // namespace attnlab::model
