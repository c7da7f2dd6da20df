// dataset/marker: the generated marker task (framework/data/marker_task.h): the label is the token
// after a marker at a random position. Needs no files; the truth is the position after the marker.
#include "framework/data/dataset.h"
#include "framework/data/marker_task.h"
#include "framework/registry/registry.h"

#include <numeric>

namespace attnlab::plugins {

struct MarkerConfig {
  std::int64_t train = 8192;
  std::int64_t valid = 1024;
  std::int64_t test = 1024;
  std::int64_t seq_len = 30;
  std::int64_t vocab = 1000;
  std::int64_t classes = 200;
  /// The input, for `attnlab plugins dataset/marker` (registry.h): none.
  static constexpr const char* kFormat =
      "no files: the sequences are generated from the trial's data seed; a spec gives the type and any options:\n"
      "  data:\n"
      "    dataset: {type: marker, seq_len: 30, classes: 10}";

  template <class V>
  void visit(V& v) {
    v("train", train).min(1).doc("training sequences");
    v("valid", valid).min(1).doc("validation sequences");
    v("test", test).min(0).doc("test sequences");
    v("seq_len", seq_len).min(2).doc("sequence length");
    v("vocab", vocab).min(3).doc("tokens, including the marker (1) and padding (0)");
    v("classes", classes).min(1).doc("number of classes (label = token after the marker, mod classes)");
  }
};

class MarkerDataset : public data::Dataset {
 public:
  MarkerDataset(const MarkerConfig& c, const Context& ctx) : c_(c), rng_(ctx.rng->fork(101)) {}

  data::Built build(data::Table, data::DataReport&) override {
    const std::int64_t n = c_.train + c_.valid + c_.test, t = c_.seq_len;
    const auto task = data::make_marker_task(n, t, c_.vocab, c_.classes, rng_);
    data::Built b;
    auto& ex = b.examples;
    ex.vocab = c_.vocab;
    ex.tokens.assign(task.ids.data<std::int64_t>(), task.ids.data<std::int64_t>() + n * t);
    data::LabelColumn label{.task = "label", .kind = data::LabelKind::kClass, .classes = c_.classes};
    label.ids.assign(task.labels.data<std::int64_t>(), task.labels.data<std::int64_t>() + n);
    ex.labels.push_back(std::move(label));
    ex.truth_offsets.push_back(0);
    for (std::int64_t i = 0; i < n; ++i) {
      ex.begin.push_back(i * t);
      ex.end.push_back((i + 1) * t);
      ex.truth.push_back(task.marker_pos.data<std::int64_t>()[i] + 1);
      ex.truth_offsets.push_back(i + 1);
    }
    auto range = [](std::int64_t from, std::int64_t to) {
      std::vector<std::int64_t> r(static_cast<std::size_t>(to - from));
      std::iota(r.begin(), r.end(), from);
      return r;
    };
    b.splits = {range(0, c_.train), range(c_.train, c_.train + c_.valid), range(c_.train + c_.valid, n)};
    b.protocol = "generated splits";
    return b;
  }

 private:
  MarkerConfig c_;
  core::Rng rng_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Dataset, marker, attnlab::plugins::MarkerDataset, attnlab::plugins::MarkerConfig,
                        "generated sequences: the label is the token after a marker");
