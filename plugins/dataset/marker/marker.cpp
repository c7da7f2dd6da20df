// dataset/marker: the generated marker task (framework/data/marker_task.h): the label is the token
// after a marker at a random position. Needs no files.
#include "framework/data/dataset.h"
#include "framework/data/marker_task.h"
#include "framework/registry/registry.h"

namespace attnlab::plugins {

struct MarkerConfig {
  std::int64_t train = 8192;
  std::int64_t valid = 1024;
  std::int64_t seq_len = 30;
  std::int64_t vocab = 1000;
  std::int64_t classes = 200;
  template <class V>
  void visit(V& v) {
    v("train", train).min(1).doc("training sequences");
    v("valid", valid).min(1).doc("validation sequences");
    v("seq_len", seq_len).min(2).doc("sequence length");
    v("vocab", vocab).min(3).doc("tokens, including the marker (1) and padding (0)");
    v("classes", classes).min(1).doc("number of classes (label = token after the marker, mod classes)");
  }
};

class MarkerDataset : public data::Dataset {
 public:
  MarkerDataset(const MarkerConfig& c, const Context& ctx) : c_(c) {
    core::Rng rng = ctx.rng->fork(101);
    auto t = data::make_marker_task(c.train, c.seq_len, c.vocab, c.classes, rng);
    auto v = data::make_marker_task(c.valid, c.seq_len, c.vocab, c.classes, rng);
    train_ = {t.ids, t.labels};
    valid_ = {v.ids, v.labels};
  }
  data::SequenceSplit train() const override { return train_; }
  data::SequenceSplit valid() const override { return valid_; }
  std::int64_t vocab() const override { return c_.vocab; }
  std::int64_t seq_len() const override { return c_.seq_len; }
  std::int64_t num_classes() const override { return c_.classes; }

 private:
  MarkerConfig c_;
  data::SequenceSplit train_, valid_;
};

}  // namespace attnlab::plugins

ATTNLAB_REGISTER_PLUGIN(attnlab::data::Dataset, marker, attnlab::plugins::MarkerDataset, attnlab::plugins::MarkerConfig,
                        "generated sequences: the label is the token after a marker");
