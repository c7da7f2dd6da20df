// objective/last: one example per batch row, its pooled history predicting its labels (the
// default; every dataset). Training batches are make_batch over the training split's rows.
#include "framework/model/objective.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct LastObjectiveConfig {
  template <class V>
  void visit(V&) {}
};

class LastObjective : public model::Objective {
 public:
  LastObjective(const LastObjectiveConfig&, const Context&) {}
  model::TrainingBatches training_batches(const data::Examples& examples, const std::vector<std::int64_t>& train_rows,
                                          const data::BatchOptions& options, std::uint64_t) const override {
    for (std::size_t k = 0; k < train_rows.size(); ++k)
      if (train_rows[k] < 0 || train_rows[k] >= examples.size())
        throw data::DataError(
            fmt::format("objective last: training row {} is outside the {} examples", train_rows[k], examples.size()));
    return {.units = train_rows,
            .build = [&examples, options](std::span<const std::int64_t> rows,
                                          std::int64_t) { return data::make_batch(examples, rows, options); },
            .describe = fmt::format("one example per row: {} training examples, each from the last step of its history",
                                    train_rows.size())};
  }
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::model::Objective, last, attnlab::plugins::LastObjective,
                        attnlab::plugins::LastObjectiveConfig,
                        "one example per row, predicted from its pooled history (default)");
