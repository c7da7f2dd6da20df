// head/random: the chance baseline: every (example, item) pair gets an independent uniform score.
// The score is a hash of the example's representation (its bits), the item and the seed, so an
// example is scored the same way in any batch, at any batch size and thread count. Its
// representation comes from an untrained model (nothing reaches it through this head), so examples
// with equal inputs get equal scores. No parameters.
//   scores[b, i] = U(0, 1) from hash(seed, bits of h[b, :], i)       [B, items]
//   loss         = softmax cross-entropy of those scores
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/registry.h"
#include "plugins/head/common/labels.h"

#include <cstring>

namespace attnlab::plugins {

using autograd::Var;
using core::Shape;
using core::Tensor;

struct RandomHeadConfig {
  std::int64_t seed = 0;
  template <class V>
  void visit(V& v) {
    v("seed", seed).min(0).doc("seed of the scores");
  }
};

class RandomHead : public model::Head {
 public:
  RandomHead(const RandomHeadConfig& c, const Context& ctx)
      : items_(ctx.num_outputs), seed_(static_cast<std::uint64_t>(c.seed)) {
    if (items_ < 1) throw Error(fmt::format("head/random: needs at least one output, got {}", items_));
  }
  Var forward(const Var& h) override {
    const std::int64_t batch = h.shape()[0], width = h.value().numel() / std::max<std::int64_t>(batch, 1);
    Tensor out = Tensor::empty(Shape{batch, items_});
    for (std::int64_t b = 0; b < batch; ++b) {
      std::uint64_t key = mix(seed_ ^ 0x5EEDull);
      for (std::int64_t k = 0; k < width; ++k) {
        std::uint32_t bits;
        std::memcpy(&bits, h.value().f32() + b * width + k, sizeof bits);
        key = mix(key ^ bits);
      }
      for (std::int64_t i = 0; i < items_; ++i)
        out.f32()[b * items_ + i] = static_cast<float>(mix(key ^ static_cast<std::uint64_t>(i)) >> 40) * 0x1.0p-24f;
    }
    return Var(out);
  }
  Var loss(const Var& scores, const Tensor& labels) override {
    return ops::softmax_cross_entropy(scores, ignore_negative(labels, -100), -100);
  }

  std::vector<data::LabelKind> label_kinds() const override { return {data::LabelKind::kItem}; }

 private:
  /// SplitMix64's finaliser: a bijective mix of 64 bits.
  static std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  std::int64_t items_;
  std::uint64_t seed_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Head, random, attnlab::plugins::RandomHead, attnlab::plugins::RandomHeadConfig,
                        "baseline: an independent uniform score for every (example, item) pair (no parameters)");
