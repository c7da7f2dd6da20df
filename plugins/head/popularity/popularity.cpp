// head/popularity: the popularity baseline of next-item tables (e.g. "PopRec" in Kang & McAuley
// 2018): every item scored by its training frequency, whatever the input. The floor a sequential
// model has to clear under the same protocol — sampled protocols favour it, since popular targets
// rarely meet popular negatives. No parameters: the training loop leaves the model as it is.
//
//   scores[b, i] = log(1 + count_i)       [B, items]   (monotone in the count; padding, never counted,
//                                                      scores 0 and is never ranked)
//   loss         = softmax cross-entropy of those scores (a baseline's log-loss, for the curves)
// Labels: i64 item ids [B]; a negative id marks a missing label.
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

#include <cmath>
#include <limits>

namespace attnlab::plugins {

using autograd::Var;
using core::Shape;
using core::Tensor;

struct PopularityConfig {
  template <class V>
  void visit(V&) {}
};

class PopularityHead : public model::Head {
 public:
  PopularityHead(const PopularityConfig&, const Context& ctx) : items_(ctx.num_outputs) {
    if (!ctx.item_counts.defined() || ctx.item_counts.numel() != items_)
      throw Error(fmt::format(
          "head/popularity: needs the training frequency of each of the {} output ids, which the data gives "
          "for next-item labels only",
          items_));
    scores_.resize(static_cast<std::size_t>(items_));
    for (std::int64_t i = 0; i < items_; ++i)
      scores_[static_cast<std::size_t>(i)] = std::log1p(std::max(0.f, ctx.item_counts.f32()[i]));
    double m = -std::numeric_limits<double>::infinity(), sum = 0;
    for (const float s : scores_) m = std::max<double>(m, s);
    for (const float s : scores_) sum += std::exp(static_cast<double>(s) - m);
    log_partition_ = m + std::log(sum);
  }
  Var forward(const Var& h) override {
    const std::int64_t batch = h.shape()[0];
    Tensor out = Tensor::empty(Shape{batch, items_});
    for (std::int64_t b = 0; b < batch; ++b) std::copy(scores_.begin(), scores_.end(), out.f32() + b * items_);
    return Var(out);
  }
  Var loss(const Var& scores, const Tensor& labels) override {
    return ops::softmax_cross_entropy(scores, ignore_negative(labels, -100), -100);
  }
  /// The same loss without scoring every row: every row has the same scores.
  Var train_loss(const Var& h, const Tensor& labels, const model::SeenItems&) override {
    (void)h;
    double sum = 0;
    std::int64_t n = 0;
    for (std::int64_t b = 0; b < labels.numel(); ++b) {
      const std::int64_t y = labels.i64()[b];
      if (y < 0) continue;
      if (y >= items_)
        throw IndexError("head/popularity", fmt::format("label {} at row {} outside [0, {})", y, b, items_));
      sum += log_partition_ - scores_[static_cast<std::size_t>(y)];
      ++n;
    }
    return Var(Tensor::scalar(n ? static_cast<float>(sum / static_cast<double>(n)) : 0.f));
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kItem}; }

 private:
  std::int64_t items_;
  std::vector<float> scores_;
  double log_partition_ = 0;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, popularity, attnlab::plugins::PopularityHead,
                        attnlab::plugins::PopularityConfig,
                        "baseline: every item scored by its training frequency (no parameters)");
