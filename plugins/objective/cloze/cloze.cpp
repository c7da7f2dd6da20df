// objective/cloze: masked-item training (BERT4Rec, Sun et al. 2019, section 3.6). A batch row is a
// user's whole training sequence with max(1, round(L * mask_prob)) of its L steps replaced by a
// mask token (drawn anew every epoch, seeded by the trial's seed, the epoch and the sequence); the
// heads predict the original items at the masked steps. Evaluation appends a mask step after the
// history and predicts the item there (the paper's test protocol). As in the paper's code, a
// masked step always shows the mask token (no 80/10/10 replacement).
#include "framework/core/rng.h"
#include "framework/data/sequence_batch.h"
#include "framework/model/objective.h"
#include "framework/registry/registry.h"

#include <memory>

namespace attnlab::plugins {

struct ClozeConfig {
  double mask_prob = 0.2;
  template <class V>
  void visit(V& v) {
    v("mask_prob", mask_prob)
        .range(0.01, 1.0)
        .doc("share of a sequence's steps masked in training (BERT4Rec: 0.2 on MovieLens-1M, 0.6 on Beauty)");
  }
};

class ClozeObjective : public model::Objective {
 public:
  ClozeObjective(const ClozeConfig& c, const Context&) : c_(c) {}
  bool per_position() const override { return true; }
  bool masks_inputs() const override { return true; }
  model::TrainingBatches training_batches(const data::Examples& examples, const std::vector<std::int64_t>& train_rows,
                                          const data::BatchOptions& options, std::uint64_t seed) const override {
    auto groups =
        std::make_shared<const data::SequenceGroups>(data::group_sequences(examples, train_rows, "objective cloze"));
    std::vector<std::int64_t> units(static_cast<std::size_t>(groups->size()));
    for (std::size_t g = 0; g < units.size(); ++g) units[g] = static_cast<std::int64_t>(g);
    const double p = c_.mask_prob;
    return {.units = std::move(units),
            .build =
                [&examples, groups, options, p, seed](std::span<const std::int64_t> which, std::int64_t epoch) {
                  const std::uint64_t epoch_seed =
                      core::Rng(seed).fork(0xC10E).fork(static_cast<std::uint64_t>(epoch)).next_u64();
                  return data::make_cloze_batch(examples, *groups, which, options,
                                                {.mask_prob = p, .seed = epoch_seed});
                },
            .describe = fmt::format("cloze: {} training sequences, {:.0f}% of each sequence's steps masked per epoch",
                                    groups->size(), 100 * p)};
  }
  data::BatchOptions eval_options(data::BatchOptions options) const override {
    options.append_mask = true;
    return options;
  }

 private:
  ClozeConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Objective, cloze, attnlab::plugins::ClozeObjective,
                        attnlab::plugins::ClozeConfig,
                        "masked-item training: predict masked steps of each sequence (BERT4Rec)");
