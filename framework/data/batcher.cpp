#include "framework/data/batcher.h"

#include "framework/core/rng.h"

#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace attnlab::data {

using core::DType;
using core::Shape;
using core::Tensor;

ModelInput Batch::input() const {
  return {.tokens = steps.defined() ? steps : ids,
          .mask = mask,
          .masked = masked,
          .users = users,
          .targets = targets,
          .categorical = categorical,
          .dense = dense,
          .seen_offsets = seen_offsets,
          .seen_items = seen_items};
}

void append_seen(std::vector<std::int64_t>& offsets, std::vector<std::int64_t>& items,
                 std::span<const std::int64_t> tokens, std::span<const std::int64_t> extra) {
  if (offsets.empty()) offsets.push_back(static_cast<std::int64_t>(items.size()));
  const auto from = static_cast<std::ptrdiff_t>(items.size());
  for (const auto t : tokens)
    if (t > 0) items.push_back(t);
  for (const auto t : extra)
    if (t > 0) items.push_back(t);
  std::sort(items.begin() + from, items.end());
  items.erase(std::unique(items.begin() + from, items.end()), items.end());
  offsets.push_back(static_cast<std::int64_t>(items.size()));
}

std::span<const std::int64_t> sequence_of(const Examples& ex, std::int64_t row) {
  const auto i = static_cast<std::size_t>(row);
  const std::int64_t from = ex.sequence_begin.empty() ? ex.begin[i] : ex.sequence_begin[i];
  return std::span<const std::int64_t>(ex.tokens).subspan(static_cast<std::size_t>(from),
                                                          static_cast<std::size_t>(ex.end[i] - from));
}

Batch make_batch(const Examples& ex, std::span<const std::int64_t> rows, const BatchOptions& options) {
  const std::int64_t seq_len = options.seq_len;
  if (seq_len < 1) throw DataError(fmt::format("make_batch: seq_len {} must be >= 1", seq_len));
  if (options.append_mask && (seq_len < 2 || ex.step_dim > 0))
    throw DataError(fmt::format("make_batch: a mask step needs token data and seq_len >= 2 (seq_len {}, step_dim {})",
                                seq_len, ex.step_dim));
  if (rows.empty()) throw DataError("make_batch: no rows");
  const std::int64_t b_size = static_cast<std::int64_t>(rows.size()), n = ex.size();
  for (std::size_t k = 0; k < rows.size(); ++k)
    if (rows[k] < 0 || rows[k] >= n)
      throw DataError(fmt::format("make_batch: rows[{}] = {} is outside the {} examples", k, rows[k], n));
  std::int64_t t = seq_len;
  if (options.trim) {
    std::int64_t longest = 1;
    for (const auto row : rows) {
      const auto i = static_cast<std::size_t>(row);
      longest = std::max(longest, ex.end[i] - ex.begin[i] + (options.append_mask ? 1 : 0));
    }
    t = std::min(seq_len, (longest + kTrimStep - 1) / kTrimStep * kTrimStep);
  }

  Batch b;
  b.rows.assign(rows.begin(), rows.end());
  const bool dense_steps = ex.step_dim > 0;
  const std::int64_t sd = ex.step_dim;
  const std::int64_t room = options.append_mask ? t - 1 : t;  // history steps that fit
  b.mask = Tensor::zeros(Shape{b_size, t});
  if (dense_steps)
    b.steps = Tensor::zeros(Shape{b_size, t, sd});
  else
    b.ids = Tensor::zeros(Shape{b_size, t}, DType::i64);
  if (options.append_mask) b.masked = Tensor::zeros(Shape{b_size, t});
  float* mask = b.mask.f32();
  for (std::int64_t r = 0; r < b_size; ++r) {
    const auto i = static_cast<std::size_t>(rows[static_cast<std::size_t>(r)]);
    const std::int64_t len = std::min(ex.end[i] - ex.begin[i], room), from = ex.end[i] - len,
                       pad = room - len;  // the last len steps, right-aligned
    std::fill(mask + r * t + pad, mask + (r + 1) * t, 1.0f);
    if (dense_steps)
      std::memcpy(b.steps.f32() + (r * t + pad) * sd, ex.step_values.data() + from * sd,
                  static_cast<std::size_t>(len * sd) * sizeof(float));
    else
      std::copy(ex.tokens.begin() + from, ex.tokens.begin() + from + len, b.ids.i64() + r * t + pad);
    if (options.append_mask) b.masked.f32()[r * t + t - 1] = 1.0f;  // ids stay 0 there: the model embeds the mask token
    if (!ex.truth_offsets.empty()) {  // true positions, moved like the steps: cut from the front, then padded
      if (b.truth_offsets.empty()) b.truth_offsets.push_back(0);
      const std::int64_t cut = (ex.end[i] - ex.begin[i]) - len;
      for (auto k = ex.truth_offsets[i]; k < ex.truth_offsets[i + 1]; ++k)
        if (const std::int64_t pos = ex.truth[static_cast<std::size_t>(k)] - cut; pos >= 0)
          b.truth.push_back(pad + pos);
      b.truth_offsets.push_back(static_cast<std::int64_t>(b.truth.size()));
    }
  }
  if (options.seen && !dense_steps) {
    std::vector<std::int64_t> targets;
    for (std::int64_t r = 0; r < b_size; ++r) {
      const auto i = static_cast<std::size_t>(rows[static_cast<std::size_t>(r)]);
      targets.clear();
      for (const auto& l : ex.labels)
        if (l.kind == LabelKind::kItem) targets.push_back(l.ids[i]);
      append_seen(b.seen_offsets, b.seen_items, sequence_of(ex, rows[static_cast<std::size_t>(r)]), targets);
    }
  }

  auto gather_i64 = [&](const std::vector<std::int64_t>& v, std::int64_t width) {
    Tensor out = Tensor::empty(width == 1 ? Shape{b_size} : Shape{b_size, width}, DType::i64);
    for (std::int64_t r = 0; r < b_size; ++r)
      std::copy_n(v.begin() + rows[static_cast<std::size_t>(r)] * width, width, out.i64() + r * width);
    return out;
  };
  auto gather_f32 = [&](const std::vector<float>& v, std::int64_t width) {
    Tensor out = Tensor::empty(width == 1 ? Shape{b_size} : Shape{b_size, width});
    for (std::int64_t r = 0; r < b_size; ++r)
      std::copy_n(v.begin() + rows[static_cast<std::size_t>(r)] * width, width, out.f32() + r * width);
    return out;
  };
  if (!ex.users.empty()) b.users = gather_i64(ex.users, 1);
  if (!ex.targets.empty()) b.targets = gather_i64(ex.targets, 1);
  // A one-feature categorical/dense block stays [B, 1] (not [B]).
  if (const auto f = ex.num_categorical(); f > 0)
    b.categorical = gather_i64(ex.categorical, f).reshape(Shape{b_size, f});
  if (const auto d = ex.num_dense(); d > 0) b.dense = gather_f32(ex.dense, d).reshape(Shape{b_size, d});
  for (const auto& l : ex.labels)
    b.labels.push_back(l.kind == LabelKind::kClass || l.kind == LabelKind::kItem ? gather_i64(l.ids, 1)
                                                                                 : gather_f32(l.values, 1));
  return b;
}

struct Batcher::Impl {
  Impl(std::vector<std::int64_t> r, Builder b, Options o) : rows(std::move(r)), build_batch(std::move(b)), opt(o) {}
  std::vector<std::int64_t> rows;
  Builder build_batch;
  Options opt;
  std::vector<std::int64_t> order;  // of the current epoch
  std::int64_t epoch = 0, position = 0;
  tbb::task_group tasks;
  bool in_flight = false;      // a task is building `ready`
  std::optional<Batch> ready;  // batch `position` once the task is done
  // task_group::run/wait already order the hand-over; this atomic states it where thread
  // sanitizers can see it (TBB's own synchronisation lives in an uninstrumented library).
  std::atomic<int> handover{0};

  std::int64_t batches() const {
    const auto n = static_cast<std::int64_t>(rows.size()), bs = opt.batch_size;
    return opt.drop_last ? n / bs : (n + bs - 1) / bs;
  }
  void set_epoch(std::int64_t e) {
    epoch = e;
    order = rows;
    if (!opt.shuffle) return;
    core::Rng rng = core::Rng(opt.seed).fork(static_cast<std::uint64_t>(e));
    for (std::size_t i = order.size(); i > 1; --i)  // Fisher–Yates with our Rng: the same order on every platform
      std::swap(order[i - 1], order[static_cast<std::size_t>(rng.below(i))]);
  }
  Batch build(std::int64_t k) const {
    const auto from = static_cast<std::size_t>(k * opt.batch_size);
    const auto count = std::min(order.size() - from, static_cast<std::size_t>(opt.batch_size));
    return build_batch(std::span<const std::int64_t>(order).subspan(from, count), epoch);
  }
  void launch(std::int64_t k) {
    in_flight = true;
    handover.store(1, std::memory_order_release);
    tasks.run([this, k] {
      (void)handover.load(std::memory_order_acquire);
      ready = build(k);
      handover.store(2, std::memory_order_release);
    });
  }
  void wait() {  // for the task in flight; rethrows its error
    in_flight = false;
    try {
      tasks.wait();
    } catch (...) {
      (void)handover.load(std::memory_order_acquire);
      throw;
    }
    (void)handover.load(std::memory_order_acquire);
  }
  // Waits for a prefetch that is no longer wanted; its error (if any) would recur when the batch is
  // built again, so it is dropped here.
  void discard() {
    if (!in_flight) return;
    try {
      wait();
    } catch (...) {}
    ready.reset();
  }
};

Batcher::Batcher(const Examples& examples, std::vector<std::int64_t> rows, Options options)
    : Batcher(
          std::move(rows),
          [&examples, seq_len = options.seq_len](std::span<const std::int64_t> r, std::int64_t) {
            return make_batch(examples, r, seq_len);
          },
          options) {
  const std::int64_t n = examples.size();
  for (std::size_t k = 0; k < impl_->rows.size(); ++k)
    if (impl_->rows[k] >= n)
      throw DataError(fmt::format("batcher: rows[{}] = {} is outside the {} examples", k, impl_->rows[k], n));
}

Batcher::Batcher(std::vector<std::int64_t> units, Builder build, Options options)
    : impl_(std::make_unique<Impl>(std::move(units), std::move(build), options)) {
  const auto& o = impl_->opt;
  if (o.batch_size < 1) throw DataError(fmt::format("batcher: batch_size {} must be >= 1", o.batch_size));
  if (o.seq_len < 1) throw DataError(fmt::format("batcher: seq_len {} must be >= 1", o.seq_len));
  for (std::size_t k = 0; k < impl_->rows.size(); ++k)
    if (impl_->rows[k] < 0) throw DataError(fmt::format("batcher: rows[{}] = {} is negative", k, impl_->rows[k]));
  impl_->set_epoch(0);
}

Batcher::~Batcher() { impl_->discard(); }

void Batcher::start_epoch(std::int64_t epoch, std::int64_t position) {
  auto& m = *impl_;
  m.discard();
  if (epoch < 0) throw DataError(fmt::format("batcher: epoch {} must be >= 0", epoch));
  if (position < 0 || position > m.batches())
    throw DataError(fmt::format("batcher: position {} is outside [0, {}] (batches per epoch)", position, m.batches()));
  m.set_epoch(epoch);
  m.position = position;
  if (m.opt.prefetch && position < m.batches()) m.launch(position);
}

std::optional<Batch> Batcher::next() {
  auto& m = *impl_;
  if (m.position >= m.batches()) return std::nullopt;
  std::optional<Batch> b;
  if (m.in_flight) {
    m.wait();  // rethrows what the task threw
    b = std::move(m.ready);
    m.ready.reset();
  } else {
    b = m.build(m.position);
  }
  ++m.position;
  if (m.opt.prefetch && m.position < m.batches()) m.launch(m.position);
  return b;
}

std::int64_t Batcher::position() const { return impl_->position; }
std::int64_t Batcher::batches_per_epoch() const { return impl_->batches(); }
std::int64_t Batcher::epoch() const { return impl_->epoch; }

}  // namespace attnlab::data
