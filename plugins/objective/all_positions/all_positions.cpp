// objective/all_positions: every position of a sequence at once (SASRec, Kang & McAuley 2018;
// GRU4Rec; NextItNet; Caser). A batch row is one training sequence (data/sequence_batch.h): its
// longest history, and at each step the label of the example whose history ends there. The heads
// score every labelled position; for a causal model this is the mean loss of all the prefix
// examples, computed once per sequence. Evaluation scores the last position.
#include "framework/data/sequence_batch.h"
#include "framework/model/objective.h"
#include "framework/registry/registry.h"

#include <memory>

namespace attnlab::plugins {

struct AllPositionsConfig {
  template <class V>
  void visit(V&) {}
};

class AllPositionsObjective : public model::Objective {
 public:
  AllPositionsObjective(const AllPositionsConfig&, const Context&) {}
  bool per_position() const override { return true; }
  bool needs_causal() const override { return true; }
  model::TrainingBatches training_batches(const data::Examples& examples, const std::vector<std::int64_t>& train_rows,
                                          const data::BatchOptions& options, std::uint64_t) const override {
    auto groups = std::make_shared<const data::SequenceGroups>(data::group_sequences(examples, train_rows, "objective all_positions"));
    std::vector<std::int64_t> units(static_cast<std::size_t>(groups->size()));
    for (std::size_t g = 0; g < units.size(); ++g) units[g] = static_cast<std::int64_t>(g);
    return {.units = std::move(units),
            .build = [&examples, groups, options](std::span<const std::int64_t> which, std::int64_t) {
              return data::make_sequence_batch(examples, *groups, which, options);
            },
            .describe = fmt::format("all positions of {} training sequences ({} targets)", groups->size(), train_rows.size())};
  }
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Objective, all_positions, attnlab::plugins::AllPositionsObjective,
                        attnlab::plugins::AllPositionsConfig,
                        "one sequence per row, the next item predicted at every position (SASRec, GRU4Rec; causal models)");
