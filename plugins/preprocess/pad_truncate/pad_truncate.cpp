// preprocess/pad_truncate (examples): bounds every history to max_len steps and makes max_len the
// padded length of the batches (Preprocess::max_len; the batcher LEFT-pads shorter histories).
//   keep: last   keeps the most recent max_len steps (begin moves forward)
//   keep: first  keeps the earliest max_len steps (end moves back)
// Only the [begin, end) ranges change; the token array is shared by examples and left as it is.
// Ground-truth positions (offsets into the history) that fall outside the kept window are dropped
// and the rest are shifted to the new begin. Applies to every example (nothing is fitted).
// Errors: DataError "preprocess pad_truncate: ..." when truth_offsets does not have N + 1 entries.
#include "framework/data/dataset.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct PadTruncateConfig {
  std::int64_t max_len = 50;
  std::string keep = "last";
  template <class V>
  void visit(V& v) {
    v("max_len", max_len).min(1).doc("longest history kept, and the padded length of every batch");
    v("keep", keep)
        .choices({"last", "first"})
        .doc("which end of a longer history is kept: last = the most recent steps");
  }
};

class PadTruncate : public data::Preprocess {
 public:
  PadTruncate(const PadTruncateConfig& c, const Context&) : c_(c) {}
  Stage stage() const override { return Stage::kExamples; }
  std::int64_t max_len() const override { return c_.max_len; }

  void apply_examples(data::Examples& ex, const data::Splits&, data::DataReport& report) override {
    const bool last = c_.keep == "last", has_truth = !ex.truth_offsets.empty();
    if (has_truth && ex.truth_offsets.size() != ex.begin.size() + 1)
      throw data::DataError(fmt::format("preprocess pad_truncate: {} truth offsets for {} examples (expected one more)",
                                        ex.truth_offsets.size(), ex.begin.size()));
    std::int64_t truncated = 0, truth_dropped = 0;
    std::vector<std::int64_t> offsets, truth;
    if (has_truth) offsets.push_back(0);
    for (std::int64_t i = 0; i < ex.size(); ++i) {
      const auto u = static_cast<std::size_t>(i);
      const std::int64_t len = ex.length(i), cut = len > c_.max_len ? len - c_.max_len : 0;  // steps removed
      const std::int64_t shift = last ? cut : 0;  // new offset = old offset - shift
      if (cut > 0) {
        ++truncated;
        if (last)
          ex.begin[u] += cut;
        else
          ex.end[u] -= cut;
      }
      if (!has_truth) continue;
      for (auto k = ex.truth_offsets[u]; k < ex.truth_offsets[u + 1]; ++k) {
        const std::int64_t p = ex.truth[static_cast<std::size_t>(k)] - shift;
        if (p >= 0 && p < len - cut)
          truth.push_back(p);
        else
          ++truth_dropped;
      }
      offsets.push_back(static_cast<std::int64_t>(truth.size()));
    }
    if (has_truth) {
      ex.truth_offsets = std::move(offsets);
      ex.truth = std::move(truth);
    }
    report.lines.push_back(fmt::format("pad_truncate: {} of {} histories truncated to {} (keep {}){}", truncated,
                                       ex.size(), c_.max_len, c_.keep,
                                       has_truth ? fmt::format(", {} truth positions dropped", truth_dropped) : ""));
  }

 private:
  PadTruncateConfig c_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Preprocess, pad_truncate, attnlab::plugins::PadTruncate,
                        attnlab::plugins::PadTruncateConfig,
                        "bounds histories to max_len steps (keep the last or first) and sets the padded batch length");
