// head/next_item: scores every item as the next one, for sequential recommendation (GRU4Rec,
// SASRec, ...). The output layer is either tied to the item embeddings (scores = (h P) Eᵀ, with a
// projection P when widths differ; Press & Wolf 2017) or its own [items, in] layer. A tied head may
// add BERT4Rec's output transform (h -> LayerNorm(gelu(h W + b)) before scoring) and a learned
// bias per item (Sun et al. 2019, eq. 7).
// Training losses (evaluation always scores every item):
//   softmax, negatives 0   the full softmax over all items
//   softmax, negatives k   sampled softmax (Jean et al. 2015): the target and k items drawn uniformly
//                          or by training popularity, with the logQ correction
//                          (logit_j - log(k * q_j)) and accidental hits of the target masked out
//   bce, negatives k >= 1  binary cross-entropy of the target against k sampled negatives (SASRec,
//                          Kang & McAuley 2018, eq. 5): per row -log σ(s_target) - Σ log(1 - σ(s_neg)),
//                          averaged over the labelled rows; no logQ correction
// Negatives are never padding (id 0) and, with exclude_seen, never an item of the row's own sequence
// (SASRec draws negatives outside the user's training items); a draw that hits an excluded item is
// redrawn (up to 64 times, then kept and masked if it is the target).
// Labels: i64 item ids [B]; a negative id marks a missing label.
#include "framework/model/families.h"
#include "framework/nn/layers.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

namespace attnlab::plugins {

using autograd::Var;
using core::Shape;
using core::Tensor;

struct NextItemConfig {
  bool tied = true;
  std::string loss = "softmax";
  std::int64_t negatives = 0;
  std::string sampler = "uniform";
  bool logq_correction = true;
  bool exclude_seen = false;
  bool transform = false;
  bool bias = false;
  template <class V>
  void visit(V& v) {
    v("tied", tied).doc("score with the item embeddings (weight tying) instead of a separate output layer");
    v("loss", loss)
        .choices({"softmax", "bce"})
        .doc(
            "training loss: softmax cross-entropy (full, or sampled with negatives > 0), or binary cross-entropy of "
            "the target "
            "against the sampled negatives (SASRec; needs negatives >= 1)");
    v("negatives", negatives)
        .min(0)
        .doc("sampled negatives per example (or per position) in training (0: full softmax over all items)");
    v("sampler", sampler)
        .choices({"uniform", "popularity"})
        .doc("distribution of the sampled negatives (never padding)");
    v("logq_correction", logq_correction).doc("sampled softmax: subtract log(negatives * q(item)) from sampled logits");
    v("exclude_seen", exclude_seen)
        .doc("draw negatives outside the row's own sequence (its history and targets), as SASRec does");
    v("transform", transform)
        .doc("tied only: a GELU dense layer and LayerNorm before scoring (BERT4Rec's output layer)");
    v("bias", bias).doc("tied only: a learned score bias per item (BERT4Rec); untied heads always have one");
  }
  /// Rules across fields: checked when the spec binds, at the field's line.
  void check(config::FieldChecks& c) const {
    if (loss == "bce" && negatives < 1)
      c.fail("negatives", "head/next_item: loss bce needs negatives >= 1 (SASRec: 1 per position)");
    if (!tied && (transform || bias))
      c.fail(transform ? "transform" : "bias", "head/next_item: transform and bias apply to a tied head (tied: true)");
  }
};

class NextItemHead : public model::Head {
 public:
  NextItemHead(const NextItemConfig& c, const Context& ctx) : c_(c), items_(ctx.num_outputs), rng_(*ctx.rng) {
    if (items_ < 3)
      throw Error(fmt::format("head/next_item: needs at least 2 items besides padding (ids 1..), got {} ids", items_));
    config::enforce(c);
    if (c.tied) {
      if (!ctx.item_table.defined())
        throw config::PathError(
            "tied", "head/next_item: tied = true needs the item embedding table (the model has none); set tied: false");
      table_ = ctx.item_table;
      if (table_.shape()[0] != items_)
        throw ShapeError("head/next_item", fmt::format("item table {} for {} items", table_.shape().str(), items_));
      const std::int64_t e = table_.shape()[1];
      if (c.transform) {
        transform_ = &add_child("transform", std::make_unique<nn::Linear>(ctx.in_dim, e, true, *ctx.rng));
        norm_ = &add_child("norm", std::make_unique<nn::LayerNorm>(e));
      } else if (e != ctx.in_dim) {
        proj_ = &add_child("proj", std::make_unique<nn::Linear>(ctx.in_dim, e, false, *ctx.rng));
      }
      if (c.bias) bias_ = add_param("bias", Shape{items_}, nn::init::zeros());
    } else {
      out_ = &add_child("out", std::make_unique<nn::Linear>(ctx.in_dim, items_, true, *ctx.rng));
    }
    if (c.negatives > 0) build_sampler(ctx.item_counts);
  }

  /// [B, in] -> scores over all items [B, items].
  Var forward(const Var& h) override {
    if (out_) return out_->forward(h);
    Var scores = ops::matmul(query(h), table_, false, true);  // [B, items]
    return bias_.defined() ? scores + bias_ : scores;
  }

  Var loss(const Var& scores, const Tensor& labels) override {
    return ops::softmax_cross_entropy(scores, ignore_negative(labels, -100), -100);
  }

  bool wants_seen() const override { return c_.exclude_seen && c_.negatives > 0; }

  Var train_loss(const Var& h, const Tensor& labels, const model::SeenItems& seen) override {
    if (c_.negatives == 0) return loss(forward(h), labels);
    const std::int64_t B = h.shape()[0], K = 1 + c_.negatives;
    if (labels.dtype() != core::DType::i64 || labels.shape() != core::Shape{B})
      throw ShapeError("head/next_item", fmt::format("labels must be i64 [{}]; got {}", B, labels.shape().str()));
    if (!seen.empty() && static_cast<std::int64_t>(seen.begin.size()) != B)
      throw ShapeError("head/next_item",
                       fmt::format("seen items for {} rows, representation [{}, ...]", seen.begin.size(), B));
    const bool bce = c_.loss == "bce";
    Tensor cand = Tensor::empty(Shape{B, K}, core::DType::i64);  // column 0: the target
    Tensor correction = Tensor::zeros(Shape{B, K});
    Tensor hit = Tensor::zeros(Shape{B, K});  // 1: a negative equal to the target
    Tensor target = Tensor::zeros(Shape{B}, core::DType::i64);
    const std::int64_t* y = labels.i64();
    std::int64_t labelled = 0;
    for (std::int64_t b = 0; b < B; ++b) {
      const bool missing = y[b] < 0;
      if (!missing && y[b] >= items_)
        throw IndexError("head/next_item", fmt::format("label {} at row {} outside [0, {})", y[b], b, items_));
      labelled += missing ? 0 : 1;
      target.i64()[b] = missing ? -100 : 0;
      const std::span<const std::int64_t> avoid =
          c_.exclude_seen && !seen.empty()
              ? seen.items.subspan(static_cast<std::size_t>(seen.begin[static_cast<std::size_t>(b)]),
                                   static_cast<std::size_t>(seen.end[static_cast<std::size_t>(b)] -
                                                            seen.begin[static_cast<std::size_t>(b)]))
              : std::span<const std::int64_t>{};
      for (std::int64_t k = 0; k < K; ++k) {
        const std::int64_t item = k == 0 ? std::max<std::int64_t>(y[b], 0) : sample_outside(avoid, y[b]);
        cand.i64()[b * K + k] = item;
        if (!bce && c_.logq_correction)
          correction.f32()[b * K + k] = -std::log(static_cast<float>(c_.negatives) * prob(item));
        if (k > 0 && item == y[b]) hit.f32()[b * K + k] = 1.f;
      }
    }
    Var q = out_ ? h : query(h);                                                   // [B, D]
    Var w = ops::embedding(out_ ? out_->weight() : table_, cand);                  // [B, K, D]
    Var logits = ops::reshape(ops::matmul(w, ops::unsqueeze(q, 2)), Shape{B, K});  // [B, K]
    if (out_ || bias_.defined()) {
      const Var& b = out_ ? out_->bias() : bias_;
      logits = logits + ops::reshape(ops::embedding(ops::reshape(b, Shape{items_, 1}), cand), Shape{B, K});
    }
    if (bce) {
      // Per row: target 1 in column 0, 0 elsewhere; missing rows and accidental hits weigh 0. The
      // weighted mean divides by the weights' sum; rescaled to a sum per labelled row (SASRec's loss).
      Tensor t = Tensor::zeros(Shape{B, K}), weight = Tensor::zeros(Shape{B, K});
      double total = 0;
      for (std::int64_t b = 0; b < B; ++b) {
        if (y[b] < 0) continue;
        t.f32()[b * K] = 1.f;
        for (std::int64_t k = 0; k < K; ++k) {
          const float wk = hit.f32()[b * K + k] > 0.f ? 0.f : 1.f;
          weight.f32()[b * K + k] = wk;
          total += wk;
        }
      }
      if (labelled == 0) return ops::bce_with_logits(logits, t, weight);  // 0, with a zero gradient
      return ops::bce_with_logits(logits, t, weight) * static_cast<float>(total / static_cast<double>(labelled));
    }
    if (c_.logq_correction) logits = logits + Var(correction);
    logits = ops::masked_fill(logits, hit, -std::numeric_limits<float>::infinity());
    return ops::softmax_cross_entropy(logits, target, -100);
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kItem}; }

 private:
  Var query(const Var& h) {
    if (transform_) return norm_->forward(transform_->forward(h, ops::Activation::gelu));
    return proj_ ? proj_->forward(h) : h;
  }

  void build_sampler(const Tensor& counts) {
    if (c_.sampler == "uniform") return;
    if (!counts.defined() || counts.numel() != items_)
      throw Error("head/next_item: sampler 'popularity' needs the dataset's item counts");
    cdf_.resize(static_cast<std::size_t>(items_));
    double total = 0;
    for (std::int64_t i = 1; i < items_; ++i)
      total += std::max(0.f, counts.f32()[i]) + 1.0;  // +1: every item can be drawn
    double acc = 0;
    cdf_[0] = 0.0;  // padding is never drawn
    for (std::int64_t i = 1; i < items_; ++i) {
      acc += (std::max(0.f, counts.f32()[i]) + 1.0) / total;
      cdf_[static_cast<std::size_t>(i)] = acc;
    }
  }
  /// An item id in [1, items): uniform, or by popularity.
  std::int64_t sample() {
    if (cdf_.empty()) return 1 + static_cast<std::int64_t>(rng_.below(static_cast<std::uint64_t>(items_ - 1)));
    const double u = rng_.uniform_double();
    const auto it = std::upper_bound(cdf_.begin() + 1, cdf_.end(), u);
    return std::clamp<std::int64_t>(it - cdf_.begin(), 1, items_ - 1);
  }
  /// A negative outside `avoid` (sorted) and not `target`; gives up after 64 redraws (a row that has
  /// seen nearly every item), returning the last draw (masked later if it is the target).
  std::int64_t sample_outside(std::span<const std::int64_t> avoid, std::int64_t target) {
    std::int64_t item = sample();
    for (int attempt = 0; attempt < 64 && (item == target || std::binary_search(avoid.begin(), avoid.end(), item));
         ++attempt)
      item = sample();
    return item;
  }
  float prob(std::int64_t item) const {
    if (cdf_.empty()) return 1.f / static_cast<float>(items_ - 1);
    const auto i = static_cast<std::size_t>(item);
    return static_cast<float>(cdf_[i] - (i ? cdf_[i - 1] : 0.0));
  }

  NextItemConfig c_;
  std::int64_t items_;
  core::Rng& rng_;
  Var table_;
  nn::Linear* proj_ = nullptr;
  nn::Linear* transform_ = nullptr;
  nn::LayerNorm* norm_ = nullptr;
  Var bias_;
  nn::Linear* out_ = nullptr;
  std::vector<double> cdf_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, next_item, attnlab::plugins::NextItemHead,
                        attnlab::plugins::NextItemConfig,
                        "scores over all items (tied or untied), full or sampled softmax");
