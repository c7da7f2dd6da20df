// objective/all_positions: every position of a sequence at once (SASRec, Kang & McAuley 2018;
// GRU4Rec; NextItNet). A batch row is one training sequence (data/sequence_batch.h): its longest
// history, and at each step the label of the example whose history ends there. The heads score
// every labelled position; for a causal model this is the mean loss of the prefix examples,
// computed once per sequence. Evaluation scores the last position.
// A sequence longer than the padded length trains only its last seq_len positions (stride 0, as
// SASRec), or is cut into windows of `stride` targets that together train every target once.
#include "framework/data/sequence_batch.h"
#include "framework/model/objective.h"
#include "framework/registry/registry.h"

#include <memory>

namespace attnlab::plugins {

struct AllPositionsConfig {
  std::int64_t stride = 0;
  template <class V>
  void visit(V& v) {
    v("stride", stride)
        .min(0)
        .doc(
            "0: each sequence once, its last seq_len positions (SASRec); n: long sequences cut into windows of n "
            "targets "
            "(every target trained once, each with at least seq_len - n steps of history; n <= seq_len)");
  }
};

class AllPositionsObjective : public model::Objective {
 public:
  explicit AllPositionsObjective(const AllPositionsConfig& c, const Context&) : c_(c) {}
  bool per_position() const override { return true; }
  bool needs_causal() const override { return true; }
  model::TrainingBatches training_batches(const data::Examples& examples, const std::vector<std::int64_t>& train_rows,
                                          const data::BatchOptions& options, std::uint64_t) const override {
    if (c_.stride > options.seq_len)
      throw data::DataError(
          fmt::format("objective all_positions: stride {} exceeds the padded length {}: a window would not show "
                      "its first targets' histories",
                      c_.stride, options.seq_len));
    auto groups = std::make_shared<const data::SequenceGroups>(
        data::group_sequences(examples, train_rows, "objective all_positions"));
    auto windows =
        std::make_shared<const std::vector<data::SequenceWindow>>(data::sequence_windows(*groups, c_.stride));
    std::vector<std::int64_t> units(windows->size());
    for (std::size_t u = 0; u < units.size(); ++u) units[u] = static_cast<std::int64_t>(u);
    const std::int64_t trained = data::labelled_examples(examples, *groups, *windows, options.seq_len);
    return {.units = std::move(units),
            .build =
                [&examples, groups, windows, options](std::span<const std::int64_t> which, std::int64_t) {
                  std::vector<data::SequenceWindow> batch;
                  batch.reserve(which.size());
                  for (const auto u : which) batch.push_back((*windows)[static_cast<std::size_t>(u)]);
                  return data::make_sequence_batch(examples, *groups, batch, options);
                },
            .describe =
                c_.stride == 0
                    ? fmt::format("all positions of {} training sequences, the last {} of each: {} of {} targets",
                                  groups->size(), options.seq_len, trained, train_rows.size())
                    : fmt::format(
                          "all positions of {} training sequences in {} windows of up to {} targets: {} of {} targets",
                          groups->size(), windows->size(), c_.stride, trained, train_rows.size())};
  }

 private:
  AllPositionsConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(
    attnlab::model::Objective, all_positions, attnlab::plugins::AllPositionsObjective,
    attnlab::plugins::AllPositionsConfig,
    "one sequence per row, the next item predicted at every position (SASRec, GRU4Rec; causal models)");
