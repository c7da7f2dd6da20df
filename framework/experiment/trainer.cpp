#include "framework/experiment/trainer.h"

#include "framework/autograd/var.h"
#include "framework/core/memory.h"
#include "framework/data/batcher.h"
#include "framework/data/pipeline.h"
#include "framework/eval/metrics.h"
#include "framework/model/model.h"
#include "framework/onednn/onednn.h"
#include "framework/optim/clip.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"
#include "framework/store/checkpoint.h"
#include "framework/store/durable.h"
#include "framework/store/trial.h"

#include <sys/resource.h>
#include <tbb/version.h>
#include <unistd.h>
#include <dnnl.hpp>
#include "framework/store/h5.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#ifndef ATTNLAB_GIT_COMMIT
#define ATTNLAB_GIT_COMMIT "unknown"
#endif

namespace attnlab::experiment {

using autograd::Var;
using core::Shape;
using core::Tensor;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A failure with the trial's own words (the message is stored as is).
class TrialFailure : public Error {
 public:
  explicit TrialFailure(const std::string& what) : Error(what) {}
};

/// One task of the model: its name and the label column it learns.
struct Task {
  std::string name;    ///< task name ("" for a single-task model's metrics: no prefix)
  std::size_t column;  ///< index into Examples::labels
};

std::vector<Task> bind_tasks(const ExperimentSpec& spec, const data::Examples& ex) {
  auto list = [&] {
    std::string s;
    for (const auto& l : ex.labels) s += (s.empty() ? "" : ", ") + l.task + " (" + data::name_of(l.kind) + ")";
    return s;
  };
  auto find = [&](const std::string& name, const std::string& where) {
    for (std::size_t i = 0; i < ex.labels.size(); ++i)
      if (ex.labels[i].task == name) return i;
    throw config::PathError(where, fmt::format("the dataset has no label column '{}'; it has: {}", name, list()));
  };
  if (ex.labels.empty()) throw TrialFailure("data: the dataset has no label column");
  std::vector<Task> tasks;
  if (spec.model.tasks.empty()) {
    tasks.push_back({"", spec.data.task.empty() ? 0 : find(spec.data.task, "data.task")});
  } else {
    for (const auto& [name, _] : spec.model.tasks) tasks.push_back({name, find(name, "model.tasks." + name)});
  }
  return tasks;
}

std::int64_t outputs_of(const data::LabelColumn& l) {
  return l.kind == data::LabelKind::kClass || l.kind == data::LabelKind::kItem ? l.classes : 1;
}

/// A figure's name in the results: the metric, prefixed with "<task>." in a multi-task model.
std::string key(const Task& t, const std::string& metric) { return t.name.empty() ? metric : t.name + "." + metric; }

/// The first parameter gradient that is not finite, as "name has NaN" (empty: all finite).
std::string nonfinite_gradient(const model::Model& model) {
  for (const auto& [name, p] : model.named_params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    const float* d = g.f32();
    for (std::int64_t i = 0; i < g.numel(); ++i)
      if (!std::isfinite(d[i]))
        return fmt::format("the gradient of '{}' {} has {} at element {}", name, g.shape().str(),
                           std::isnan(d[i]) ? "NaN" : "Inf", i);
  }
  return {};
}

/// Resets the process's peak resident set (VmHWM) to its current size (Linux: /proc/self/clear_refs;
/// nothing happens where it cannot be written).
void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}

/// Minor page faults of the whole process so far (getrusage).
std::int64_t minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

std::int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

/// Probe samples: the first log.probes validation rows (fixed for the whole trial), with the true
/// informative positions in the padded coordinates of the batch (left padding; a cloze mask step,
/// if any, takes the last position).
struct Probes {
  std::vector<std::int64_t> rows;
  data::Batch batch;
  std::vector<std::int64_t> truth_offsets, truth;
};

Probes make_probes(const data::PreparedData& data, const data::BatchOptions& options, int count) {
  Probes p;
  const auto& valid = data.splits.valid.empty() ? data.splits.train : data.splits.valid;
  const auto n = std::min<std::size_t>(valid.size(), static_cast<std::size_t>(count));
  p.rows.assign(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
  if (p.rows.empty()) return p;
  data::BatchOptions o = options;
  o.seen = false;
  p.batch = data::make_batch(data.examples, p.rows, o);  // it places the true positions as it pads
  p.truth_offsets = p.batch.truth_offsets;
  p.truth = p.batch.truth;
  return p;
}

/// The rows of `rows` whose user is in a seeded sample of max_users of their users (all rows when
/// max_users is 0, the examples have no users, or there are no more users than that).
std::vector<std::int64_t> sample_users(const data::Examples& ex, const std::vector<std::int64_t>& rows,
                                       std::int64_t max_users, std::uint64_t seed) {
  if (max_users <= 0 || ex.users.empty()) return rows;
  std::vector<std::int64_t> users;
  for (const auto r : rows) users.push_back(ex.users[static_cast<std::size_t>(r)]);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  if (static_cast<std::int64_t>(users.size()) <= max_users) return rows;
  core::Rng rng = core::Rng(seed).fork(0x05E25);
  for (std::size_t i = 0; i < static_cast<std::size_t>(max_users); ++i)  // partial Fisher–Yates: the first max_users
    std::swap(users[i], users[i + static_cast<std::size_t>(rng.below(users.size() - i))]);
  users.resize(static_cast<std::size_t>(max_users));
  std::sort(users.begin(), users.end());
  std::vector<std::int64_t> kept;
  for (const auto r : rows)
    if (std::binary_search(users.begin(), users.end(), ex.users[static_cast<std::size_t>(r)])) kept.push_back(r);
  return kept;
}

/// What a checkpoint holds besides the parameters and the optimizer: where training stands.
struct TrainState {
  int epoch = 0;  ///< epochs finished
  double best = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = 0, since_best = 0;
  double seconds = 0;  ///< time the trial spent in earlier runs, up to their last checkpoint
  std::map<std::string, Tensor> best_params;
  /// The scalars a checkpoint holds, by name: the one list that saving and loading share.
  template <class Self, class F>
  static void scalars(Self& s, F&& f) {
    f("best", s.best);
    f("best_epoch", s.best_epoch);
    f("since_best", s.since_best);
    f("seconds", s.seconds);
  }
};

/// One trial, step by step (see trainer.h). run() never throws.
class Trainer {
 public:
  explicit Trainer(const TrialPlan& plan)
      : plan_(plan), spec_(plan.spec.spec), ckpt_path_(store::checkpoint_path(plan.out_dir, plan.id)) {
    progress_.id = plan.id;
    progress_.epochs = spec_.train.epochs;
    progress_.phase = "data";
  }

  TrialOutcome run() {
    t_start_ = Clock::now();
    const auto t_start = t_start_;
    // Every thread of the trial computes with denormals flushed, and its tensors count in its own
    // memory account: this thread, and the TBB workers that join its arena (core/memory.h).
    core::flush_denormals();
    const core::ScopedAccount scoped_account(memory_);
    const core::TrialThreadObserver observer(memory_);
    if (plan_.alone) reset_peak_rss();
    try {
      setup();
      resume();
      t_train_ = Clock::now();
      const int epochs = plan_.rehearsal ? std::min(1, spec_.train.epochs) : spec_.train.epochs;
      for (int epoch = state_.epoch + 1; epoch <= epochs; ++epoch) {
        if (!train_epoch(epoch)) {
          outcome_.status = TrialOutcome::Status::kStopped;
          outcome_.seconds = since(t_start);
          writer_->flush();
          return outcome_;
        }
        const bool stop_early = validate(epoch);
        if (spec_.log.checkpoint && epoch < spec_.train.epochs && !stop_early && !plan_.rehearsal) checkpoint();
        writer_->flush();
        if (stop_early) break;
      }
      finish();
      outcome_.status = TrialOutcome::Status::kDone;
    } catch (const std::exception& e) {
      outcome_.status = TrialOutcome::Status::kFailed;
      // A config value the data or the model refused: at the line that wrote it.
      const auto* at_path = dynamic_cast<const config::PathError*>(&e);
      outcome_.message = at_path ? config::located(plan_.spec.raw, *at_path).str() : e.what();
      const std::string failed_at =
          progress_.phase == "data" ? "data" : fmt::format("epoch {} ({})", progress_.epoch, progress_.phase);
      outcome_.storage_errno = store::storage_errno_of(e);
      write_progress("failed", outcome_.message);
      if (writer_ && outcome_.storage_errno != 0) {
        // The storage failed (a full disk): writing the failure into the file would fail too. The
        // partial file goes, returning its space; the ledger records the failure and a re-run
        // trains the trial again.
        const fs::path temp = writer_->temp_path();
        writer_.reset();
        std::error_code ignored;
        fs::remove(temp, ignored);
      } else if (writer_) {
        try {
          writer_->finish_failed(outcome_.message, failed_at);
        } catch (const std::exception&) {
          // The message is still returned to the sweep, which records it in the ledger.
        }
      }
    }
    outcome_.warnings = data_.report.warnings;
    std::error_code ignored;
    if (outcome_.status != TrialOutcome::Status::kStopped) fs::remove(ckpt_path_, ignored);
    outcome_.seconds = since(t_start);
    return outcome_;
  }

 private:
  void report() {
    if (plan_.progress) plan_.progress(progress_);
  }
  void push(const std::string& split, const std::string& name, int epoch, double value) {
    writer_->append_curve(split, name, epoch, value);
  }

  // ---- setup: results file, data, model, optimizer, batchers ---------------------------------
  void setup() {
    onednn::set_threads(plan_.threads);
    writer_ = std::make_unique<store::TrialWriter>(plan_.out_dir, plan_.id);
    writer_->write_config(config::to_yaml(plan_.spec.resolved), plan_.spec.hash);
    auto env = environment();
    env["threads"] = std::to_string(plan_.threads);
    env["seed"] = std::to_string(spec_.train.seed);
    for (const auto& [k, v] : plan_.env) env[k] = v;
    writer_->write_env(env);
    report();

    core::Rng root(static_cast<std::uint64_t>(spec_.train.seed));
    core::Rng data_rng = root.fork(1);
    model_rng_ = root.fork(2);
    const auto t_data = Clock::now();
    data_ = data::prepare_data(spec_.data.dataset, spec_.preprocess, data_rng, plan_.spec.base_dir);
    const double data_seconds = since(t_data);
    tasks_ = bind_tasks(spec_, data_.examples);

    objective_ = registry::create(spec_.train.objective, model::Objective::Context{});
    model_ = std::make_unique<model::Model>(spec_.model, dims_for(spec_, data_), model_rng_, objective_.get());
    check_heads_fit_labels();
    note_metrics_that_do_not_apply();
    choose_padding();
    opt_ = registry::create(spec_.train.optimizer, {.params = model_->params()});
    const model::TrainingBatches batches = objective_->training_batches(
        data_.examples, data_.splits.train,
        {.seq_len = data_.seq_len, .append_mask = false, .seen = model_->wants_seen(), .trim = pad_per_batch_},
        static_cast<std::uint64_t>(spec_.train.seed));
    train_batches_ =
        std::make_unique<data::Batcher>(batches.units, batches.build,
                                        data::Batcher::Options{.batch_size = spec_.train.batch_size,
                                                               .seq_len = data_.seq_len,
                                                               .shuffle = true,
                                                               .seed = static_cast<std::uint64_t>(spec_.train.seed),
                                                               .drop_last = false,
                                                               .prefetch = true});
    per_epoch_ = train_batches_->batches_per_epoch();
    schedule_ =
        registry::create(spec_.train.schedule, {.base_lr = opt_->lr(), .total_steps = per_epoch_ * spec_.train.epochs});
    eval_options_ = {.metrics = spec_.eval.metrics,
                     .ks = spec_.eval.ks,
                     .ranking = {.mode = spec_.eval.ranking.mode,
                                 .negatives = spec_.eval.ranking.negatives,
                                 .sampler = spec_.eval.ranking.sampler,
                                 .exclude_history = spec_.eval.ranking.exclude_history,
                                 .seed = static_cast<std::uint64_t>(spec_.eval.ranking.seed)}};
    const auto eval_seed = static_cast<std::uint64_t>(spec_.eval.ranking.seed);
    valid_rows_ = sample_users(data_.examples, data_.splits.valid, spec_.eval.max_users, eval_seed);
    test_rows_ = sample_users(data_.examples, data_.splits.test, spec_.eval.max_users, eval_seed);
    if (plan_.rehearsal)  // evaluation on one batch of each split exercises every path of it
      for (auto* rows : {&valid_rows_, &test_rows_})
        rows->resize(std::min<std::size_t>(rows->size(), static_cast<std::size_t>(spec_.train.batch_size)));
    probes_ = make_probes(data_, objective_->eval_options({.seq_len = data_.seq_len}), spec_.log.probes);
    write_probes();
    write_data_record(batches.describe, data_seconds);
    write_progress("running");
    state_.best_params = model_->state();
  }

  // A head learns from one kind of label: refused here, named, rather than a tensor error later.
  void check_heads_fit_labels() const {
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      const auto kinds = model_->head(t).label_kinds();
      const data::LabelColumn& label = data_.examples.labels[tasks_[t].column];
      if (kinds.empty() || std::find(kinds.begin(), kinds.end(), label.kind) != kinds.end()) continue;
      const std::string& name = tasks_[t].name;
      const std::string where = name.empty() ? "model.head" : "model.tasks." + name;
      const std::string type = name.empty() ? spec_.model.head.type : spec_.model.tasks.at(name).type;
      std::vector<std::string> wanted;
      for (const auto k : kinds) wanted.emplace_back(data::name_of(k));
      throw config::PathError(
          where + ".type",
          fmt::format("a '{}' head learns from {} labels, but the task's label column '{}' holds {} labels", type,
                      fmt::join(wanted, " or "), label.task, data::name_of(label.kind)));
    }
  }

  // data.padding: `batch` pads each batch to its own longest history, `dataset` to seq_len; absent,
  // batches are padded to their own length when no step caps the length and the model allows it.
  void choose_padding() {
    const auto& padding = spec_.data.padding;
    if (padding == "batch" && !model_->any_length())
      throw config::PathError("data.padding",
                              model_->has_sequence() && data_.examples.step_dim == 0
                                  ? "batch: the model has a stage that works at the data set's length only (flatten "
                                    "pooling, cnn2d); pad to the data set (padding: dataset)"
                                  : "batch: the data has no token sequences to pad");
    pad_per_batch_ = padding ? *padding == "batch" : !data_.uncapped_lengths.empty() && model_->any_length();
    if (data_.uncapped_lengths.empty()) return;
    const std::string cap = fmt::format("preprocess: [{{type: pad_truncate, max_len: {}}}]", data_.p99_length);
    if (pad_per_batch_)
      data_.report.lines.push_back(fmt::format(
          "data.padding: each batch padded to its own longest history (no step caps the length; the longest has {} "
          "steps; training histories: {})",
          data_.seq_len, data_.uncapped_lengths));
    else if (data_.wasteful)
      data_.report.warn(fmt::format(
          "every history is padded to the longest, {} steps, while training histories have {}; {} a cap such as {} "
          "would save most of the work",
          data_.seq_len, data_.uncapped_lengths,
          model_->any_length() ? "data.padding: batch (each batch padded to its own longest) or"
                               : "this model needs one length (flatten pooling or cnn2d), so",
          cap));
  }

  // A metric that applies to no task of the model (a sweep's shared list over several kinds of
  // task) is not dropped without a word: the data report, stored with the trial, says so.
  void note_metrics_that_do_not_apply() {
    for (const auto& m : spec_.eval.metrics) {
      bool any = false;
      for (const auto& t : tasks_) any = any || eval::applies(m, data_.examples.labels[t.column].kind);
      if (any) continue;
      std::vector<std::string> fits;
      for (const auto& e : eval::metric_table())
        if (e.name == m) fits.emplace_back(data::name_of(e.kind));
      data_.report.warn(
          fmt::format("eval.metrics: '{}' is not reported: it applies to {} labels, which no task of this model has", m,
                      fmt::join(fits, " or ")));
    }
  }

  void write_probes() {
    if (probes_.rows.empty()) return;
    std::map<std::string, Tensor> arrays;
    arrays["rows"] = Tensor::from_i64(probes_.rows, Shape{static_cast<std::int64_t>(probes_.rows.size())});
    if (probes_.batch.ids.defined()) arrays["ids"] = probes_.batch.ids;
    if (probes_.batch.steps.defined()) arrays["inputs"] = probes_.batch.steps;
    arrays["mask"] = probes_.batch.mask;
    if (!data_.examples.truth_offsets.empty()) {
      arrays["truth"] = Tensor::from_i64(probes_.truth, Shape{static_cast<std::int64_t>(probes_.truth.size())});
      arrays["truth_offsets"] =
          Tensor::from_i64(probes_.truth_offsets, Shape{static_cast<std::int64_t>(probes_.truth_offsets.size())});
    }
    writer_->write_attention_probe(arrays);
  }

  void write_data_record(const std::string& training, double data_seconds) {
    const auto& ex = data_.examples;
    std::string protocol = data_.protocol;
    for (const auto& t : tasks_)
      if (ex.labels[t.column].kind == data::LabelKind::kItem) {
        protocol += "; " + eval_options_.ranking.describe(ex.labels[t.column].classes);
        break;
      }
    if (valid_rows_.size() != data_.splits.valid.size() || test_rows_.size() != data_.splits.test.size())
      protocol += fmt::format("; evaluated on a sample of {} users (valid {} of {} rows, test {} of {}), seed {}",
                              spec_.eval.max_users, valid_rows_.size(), data_.splits.valid.size(), test_rows_.size(),
                              data_.splits.test.size(), spec_.eval.ranking.seed);
    protocol += "; training: " + training;
    protocol += spec_.eval.test_curves ? "; best epoch chosen on validation (test curves recorded every epoch)"
                                       : "; best epoch chosen on validation";
    store::DataRecord record;
    record.protocol = protocol;
    record.split_sizes = {{"train", static_cast<std::int64_t>(data_.splits.train.size())},
                          {"valid", static_cast<std::int64_t>(data_.splits.valid.size())},
                          {"test", static_cast<std::int64_t>(data_.splits.test.size())}};
    record.report = data_.report.lines;
    record.tokens = data_.examples.token_names;
    record.labels = label_counts();
    record.report.push_back(fmt::format("data prepared in {:.2f} s", data_seconds));
    for (const auto& [step, arrays] : data_.fitted) record.fitted.emplace_back(step, arrays);
    writer_->write_data(record);
  }

  /// The label balance of each class or binary task, per split (the report's trivial baselines).
  std::vector<store::DataRecord::LabelCounts> label_counts() const {
    std::vector<store::DataRecord::LabelCounts> out;
    const data::Examples& ex = data_.examples;
    for (const auto& task : tasks_) {
      const data::LabelColumn& l = ex.labels[task.column];
      if (l.kind != data::LabelKind::kClass && l.kind != data::LabelKind::kBinary) continue;
      if (l.task.empty() || l.task == "." || l.task == ".." || l.task.find('/') != std::string::npos) continue;
      store::DataRecord::LabelCounts c;
      c.task = l.task;
      const std::size_t classes = l.kind == data::LabelKind::kBinary ? 2 : static_cast<std::size_t>(l.classes);
      c.names = l.kind == data::LabelKind::kBinary ? std::vector<std::string>{"0", "1"} : l.class_names;
      for (const auto& [split, rows] :
           {std::pair{"train", &data_.splits.train}, std::pair{"valid", &data_.splits.valid},
            std::pair{"test", &data_.splits.test}}) {
        std::vector<std::int64_t> counts(classes, 0);
        for (const auto r : *rows) {
          const auto i = static_cast<std::size_t>(r);
          if (l.kind == data::LabelKind::kBinary) {
            if (!std::isnan(l.values[i])) ++counts[l.values[i] > 0.5f ? 1 : 0];
          } else if (l.ids[i] >= 0 && static_cast<std::size_t>(l.ids[i]) < classes) {
            ++counts[static_cast<std::size_t>(l.ids[i])];
          }
        }
        c.splits.emplace_back(split, std::move(counts));
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  // ---- the state a checkpoint holds, saved and loaded by one pair of functions ----------------
  store::Checkpoint save_state() const {
    store::Checkpoint ck;
    ck.config_hash = plan_.spec.hash;
    ck.epoch = state_.epoch;
    ck.params = model_->state();
    for (const auto& [name, t] : state_.best_params) ck.params["best/" + name] = t;
    ck.optimizer = opt_->state();
    ck.rngs["model"] = model_rng_.state();
    ck.step = opt_->steps();
    ck.arrays = writer_->series();
    TrainState::scalars(state_, [&](const char* name, const auto& v) { ck.scalars[name] = static_cast<double>(v); });
    ck.scalars["seconds"] = state_.seconds + since(t_start_);  // the trial's own time up to here
    return ck;
  }
  void load_state(const store::Checkpoint& ck) {
    if (ck.config_hash != plan_.spec.hash)
      throw TrialFailure(fmt::format("checkpoint {} belongs to another config (hash {}, this trial {})",
                                     ckpt_path_.string(), ck.config_hash, plan_.spec.hash));
    std::map<std::string, Tensor> current;
    state_.best_params.clear();
    for (const auto& [name, t] : ck.params) {
      if (name.starts_with("best/"))
        state_.best_params[name.substr(5)] = t;
      else
        current[name] = t;
    }
    model_->load_state(current);
    opt_->load_state(ck.optimizer);
    model_rng_.set_state(ck.rngs.at("model"));
    writer_->restore_series(ck.arrays);
    TrainState::scalars(state_, [&](const char* name, auto& v) {
      const auto it = ck.scalars.find(name);
      if (it == ck.scalars.end() && std::string_view(name) == "seconds") return;  // an older checkpoint
      if (it == ck.scalars.end())
        throw TrialFailure(
            fmt::format("checkpoint {} has no scalar '{}' (written by another version?)", ckpt_path_.string(), name));
      v = static_cast<std::remove_reference_t<decltype(v)>>(it->second);
    });
    state_.epoch = static_cast<int>(ck.epoch);
  }

  void resume() {
    if (!fs::exists(ckpt_path_)) return;
    load_state(store::load_checkpoint(ckpt_path_));
    outcome_.resumed_from_epoch = state_.epoch;
  }
  void checkpoint() const { store::save_checkpoint(ckpt_path_, save_state()); }

  // ---- one epoch of training ------------------------------------------------------------------
  bool train_epoch(int epoch) {
    const auto t_epoch = Clock::now();
    const std::int64_t faults_before = minor_faults();
    model_->train();
    train_batches_->start_epoch(epoch);
    t_epoch_ = Clock::now();
    progress_.phase = "train";
    progress_.epoch = epoch;
    progress_.batch = 0;
    progress_.batches = per_epoch_;
    report();
    std::vector<double> task_loss_sum(tasks_.size(), 0.0);
    double loss_sum = 0;
    std::int64_t steps = 0, samples = 0;
    auto last_report = Clock::now();
    while (auto b = train_batches_->next()) {
      if (plan_.stop && plan_.stop->load()) return false;
      std::vector<Tensor> labels;
      for (const auto& t : tasks_) labels.push_back(b->labels[t.column]);
      opt_->zero_grad();
      opt_->set_lr(schedule_->lr(opt_->steps()));
      const auto losses = model_->train_losses(b->input(), labels);
      double step_loss = 0;
      for (std::size_t t = 0; t < losses.size(); ++t) {
        const double l = losses[t].value().item();
        if (!std::isfinite(l))
          throw TrialFailure(tasks_.size() == 1
                                 ? fmt::format("epoch {} step {}: the training loss is {}", epoch, opt_->steps() + 1, l)
                                 : fmt::format("epoch {} step {}: the loss of task '{}' is {}", epoch,
                                               opt_->steps() + 1, tasks_[t].name, l));
        task_loss_sum[t] += l;
        step_loss += l;
      }
      model_->backward(losses);
      // Non-finite gradients are caught by passes that read them anyway (the clipping norm, the
      // optimizer's update); only then is the slow scan run, to name the tensor and element.
      if (spec_.train.clip_norm > 0 &&
          !std::isfinite(optim::clip_grad_norm(model_->params(), static_cast<float>(spec_.train.clip_norm))))
        throw TrialFailure(fmt::format("epoch {} step {}: {}", epoch, opt_->steps() + 1, nonfinite_gradient(*model_)));
      opt_->step();
      if (opt_->nonfinite_gradient() >= 0)
        throw TrialFailure(fmt::format("epoch {} step {}: {}", epoch, opt_->steps(), nonfinite_gradient(*model_)));
      loss_sum += step_loss;
      ++steps;
      samples += b->size();
      if (plan_.rehearsal) break;  // one step shows the trial can train
      if (plan_.progress && since(last_report) > 0.25) {
        last_report = Clock::now();
        progress_.batch = train_batches_->position();
        progress_.loss = loss_sum / static_cast<double>(steps);
        progress_.samples_per_s = static_cast<double>(samples_done_ + samples) / std::max(since(t_train_), 1e-9);
        const double per_batch = since(t_epoch) / static_cast<double>(steps);
        progress_.eta_s =
            per_batch * static_cast<double>((per_epoch_ - steps) + per_epoch_ * (spec_.train.epochs - epoch));
        report();
      }
    }
    samples_done_ += samples;
    const double train_seconds = since(t_epoch);
    const auto mean = [&](double sum) { return sum / static_cast<double>(std::max<std::int64_t>(steps, 1)); };
    push("train", "loss", epoch, mean(loss_sum));
    if (auto* weighting = model_->weighting()) {
      std::vector<double> task_means;
      for (std::size_t t = 0; t < tasks_.size(); ++t) {
        task_means.push_back(mean(task_loss_sum[t]));
        push("train", key(tasks_[t], "loss"), epoch, task_means.back());
      }
      const auto w = weighting->weights();
      for (std::size_t t = 0; t < tasks_.size() && t < w.size(); ++t)
        push("train", "weight." + tasks_[t].name, epoch, w[t]);
      weighting->end_epoch(task_means);
    }
    push("train", "lr", epoch, opt_->lr());
    // Page faults are counted for the process: the trial's own only when it runs alone.
    const double faults_per_step =
        plan_.alone && steps > 0 ? static_cast<double>(minor_faults() - faults_before) / static_cast<double>(steps)
                                 : std::numeric_limits<double>::quiet_NaN();
    writer_->append_epoch_time(epoch, train_seconds, static_cast<double>(samples) / std::max(train_seconds, 1e-9),
                               faults_per_step);
    progress_.batch = per_epoch_;
    progress_.loss = mean(loss_sum);
    progress_.samples_per_s = static_cast<double>(samples_done_) / std::max(since(t_train_), 1e-9);
    progress_.eta_s = since(t_train_) / static_cast<double>(epoch - outcome_.resumed_from_epoch) *
                      static_cast<double>(spec_.train.epochs - epoch);
    return true;
  }

  // ---- validation (and test curves), best epoch, early stopping; true: stop early ---------------
  bool validate(int epoch) {
    progress_.phase = "valid";
    report();
    const auto valid = evaluate(valid_rows_);
    for (const auto& [name, value] : valid) push("valid", name, epoch, value);
    if (spec_.eval.test_curves) {
      progress_.phase = "test";
      for (const auto& [name, value] : evaluate(test_rows_)) push("test", name, epoch, value);
    }
    double current = std::numeric_limits<double>::quiet_NaN();
    if (!valid.empty()) {
      const auto it = valid.find(spec_.eval.select);
      if (it == valid.end()) {
        std::string names;
        for (const auto& [n, _] : valid) names += (names.empty() ? "" : ", ") + n;
        throw config::PathError(
            "eval.select",
            fmt::format("'{}' is not a validation figure of this model; there are: {}", spec_.eval.select, names));
      }
      current = it->second;
    }
    const bool lower = eval::lower_is_better(spec_.eval.select);
    const bool improved =
        std::isnan(state_.best) || (!std::isnan(current) && (lower ? current < state_.best : current > state_.best));
    if (improved) {
      state_.best = std::isnan(current) ? state_.best : current;
      state_.best_epoch = epoch;
      state_.since_best = 0;
      state_.best_params = model_->state();
    } else {
      ++state_.since_best;
    }
    const auto& at = spec_.log.attention_epochs;
    if (std::find(at.begin(), at.end(), epoch) != at.end() && !probes_.rows.empty()) write_attention(epoch);
    state_.epoch = epoch;
    progress_.phase = "epoch";
    progress_.select = spec_.eval.select;
    progress_.valid = current;
    progress_.best = state_.best;
    progress_.epoch_seconds = since(t_epoch_);
    report();
    write_progress("running");
    return spec_.eval.patience > 0 && state_.since_best >= spec_.eval.patience;
  }

  /// Validation or test figures: per-task losses and metrics, keyed as in the results file.
  std::map<std::string, double> evaluate(const std::vector<std::int64_t>& rows) {
    std::map<std::string, double> out;
    if (rows.empty()) return out;
    autograd::NoGrad no_grad;
    model_->eval();
    std::vector<eval::TaskEvaluator> evaluators;
    bool seen = false;
    for (const auto& t : tasks_) {
      evaluators.emplace_back(data_.examples.labels[t.column], eval_options_, data_.item_counts);
      seen = seen || evaluators.back().wants_seen();
    }
    std::vector<double> loss_sum(tasks_.size(), 0.0);
    std::int64_t count = 0;
    const data::BatchOptions options = objective_->eval_options(
        {.seq_len = data_.seq_len, .append_mask = false, .seen = seen, .trim = pad_per_batch_});
    data::Batcher batcher(
        rows,
        [&](std::span<const std::int64_t> r, std::int64_t) { return data::make_batch(data_.examples, r, options); },
        {.batch_size = spec_.eval.batch_size,
         .seq_len = data_.seq_len,
         .shuffle = false,
         .seed = 0,
         .drop_last = false,
         .prefetch = true});
    batcher.start_epoch(0);
    while (auto b = batcher.next()) {
      const auto preds = model_->forward(b->input());
      std::vector<Tensor> labels;
      for (const auto& t : tasks_) labels.push_back(b->labels[t.column]);
      const auto losses = model_->losses(preds, labels);
      const auto n = static_cast<double>(b->size());
      for (std::size_t t = 0; t < tasks_.size(); ++t) {
        loss_sum[t] += static_cast<double>(losses[t].value().item()) * n;
        evaluators[t].add(preds[t].value(), labels[t], b->users, b->rows, b->seen_offsets, b->seen_items);
      }
      count += b->size();
    }
    double total = 0;
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      const double l = loss_sum[t] / static_cast<double>(count);
      total += l;
      if (!tasks_[t].name.empty()) out[key(tasks_[t], "loss")] = l;
      for (const auto& [name, value] : evaluators[t].finish()) out[key(tasks_[t], name)] = value;
    }
    out["loss"] = total;
    return out;
  }

  /// The attention weights on the probes (attention variants without weights leave nothing).
  void write_attention(int epoch) {
    autograd::NoGrad no_grad;
    model_->eval();
    model_->forward(probes_.batch.input());
    if (model_->attention_weights().defined())
      writer_->write_attention("attention", epoch, model_->attention_weights());
  }

  // ---- <id>.progress.yaml: a small file `attnlab watch` reads while the trial runs ----------------
  // Replaced atomically after setup, after every epoch and at the end (the HDF5 file being written
  // cannot be read meanwhile). Never fails the trial: progress is a view, not a result.
  void write_progress(std::string_view status, const std::string& message = "") {
    if (plan_.rehearsal || plan_.out_dir.empty()) return;
    try {
      using config::Value;
      const auto number = [](double x) { return Value::scalar(std::isnan(x) ? ".nan" : fmt::format("{}", x)); };
      const store::Series all = writer_ ? writer_->series() : store::Series{};  // one copy for both curves
      const auto series = [&](const std::string& key) {
        Value list = Value::sequence();
        if (const auto it = all.find(key); it != all.end())
          for (const double x : it->second) list.push_back(number(x));
        return list;
      };
      Value v = Value::map();
      v.set("id", Value::scalar(plan_.id, {}, true));
      v.set("label", Value::scalar(plan_.label, {}, true));
      v.set("status", Value::scalar(std::string(status), {}, true));
      v.set("epoch", Value::scalar(std::to_string(state_.epoch)));
      v.set("epochs", Value::scalar(std::to_string(spec_.train.epochs)));
      v.set("select", Value::scalar(spec_.eval.select, {}, true));
      v.set("best", number(state_.best));
      v.set("best_epoch", Value::scalar(std::to_string(state_.best_epoch)));
      v.set("valid", series("curves/valid/" + spec_.eval.select));
      v.set("train_loss", series("curves/train/loss"));
      // Every validation curve by figure ("accuracy", "ndcg@10", "click.auc"): a tuning objective
      // other than eval.select is pruned on its own curve (docs/tune.md).
      Value curves = Value::map();
      const std::string prefix = "curves/valid/";
      for (const auto& [key, values] : all)
        if (key.starts_with(prefix)) curves.set(key.substr(prefix.size()), series(key));
      v.set("curves", std::move(curves));
      v.set("seconds", number(state_.seconds + since(t_start_)));
      v.set("updated", Value::scalar(std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count())));
      v.set("message", Value::scalar(message, {}, true));
      const std::string text = config::to_yaml(v);
      store::write_durably(store::progress_path(plan_.out_dir, plan_.id), [&](const fs::path& temp) {
        std::ofstream out(temp);
        out << text;
        out.close();  // the buffer reaches the disk here: a full disk fails here, not before
        if (!out) throw Error("cannot write " + temp.string());
      });
    } catch (const std::exception&) {
      // A full disk shows in the trial file's own writes; the view just stays behind.
    }
  }

  // ---- the end: the best epoch's parameters evaluated on valid and test -------------------------
  void finish() {
    model_->load_state(state_.best_params);
    progress_.phase = "test";
    report();
    for (const auto& [split, rows] : {std::pair{"valid", &valid_rows_}, std::pair{"test", &test_rows_}})
      for (const auto& [name, value] : evaluate(*rows)) {
        writer_->write_final(split, name, value);
        outcome_.final[std::string(split) + "/" + name] = value;
      }
    if (!probes_.rows.empty() && spec_.log.attention_epochs.empty()) write_attention(state_.best_epoch);
    writer_->write_timing({.total_seconds = state_.seconds + since(t_start_),  // with the runs before a resume
                           .samples_per_second = static_cast<double>(samples_done_) / std::max(since(t_train_), 1e-9),
                           .peak_rss_bytes = peak_rss_bytes(),
                           .peak_rss_scope = plan_.alone ? "trial" : "process",
                           .peak_tensor_bytes = memory_->peak(),
                           .best_epoch = state_.best_epoch,
                           .epochs_run = state_.epoch});
    writer_->finish_done();
    write_progress("done");
  }

  const TrialPlan& plan_;
  const ExperimentSpec& spec_;
  const std::shared_ptr<core::MemoryAccount> memory_ = std::make_shared<core::MemoryAccount>();
  const fs::path ckpt_path_;
  TrialOutcome outcome_;
  TrialProgress progress_;
  std::unique_ptr<store::TrialWriter> writer_;
  core::Rng model_rng_;
  data::PreparedData data_;
  std::vector<Task> tasks_;
  std::unique_ptr<model::Objective> objective_;
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<optim::Optimizer> opt_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  std::unique_ptr<data::Batcher> train_batches_;
  bool pad_per_batch_ = false;   // choose_padding()
  Clock::time_point t_epoch_{};  // the current epoch's start
  std::int64_t per_epoch_ = 0, samples_done_ = 0;
  eval::EvalOptions eval_options_;
  std::vector<std::int64_t> valid_rows_, test_rows_;
  Probes probes_;
  TrainState state_;
  Clock::time_point t_start_ = Clock::now(), t_train_ = Clock::now();
};

}  // namespace

std::vector<std::size_t> label_columns(const ExperimentSpec& spec, const data::Examples& examples) {
  std::vector<std::size_t> out;
  for (const auto& t : bind_tasks(spec, examples)) out.push_back(t.column);
  return out;
}

model::ModelDims dims_for(const ExperimentSpec& spec, const data::PreparedData& data) {
  const auto& ex = data.examples;
  const auto tasks = bind_tasks(spec, ex);
  model::ModelDims dims;
  dims.vocab = ex.vocab;
  dims.seq_len = data.seq_len;
  dims.num_outputs = outputs_of(ex.labels[tasks[0].column]);
  dims.padding_idx = ex.step_dim > 0 ? -1 : 0;
  dims.users = ex.num_users;
  dims.step_dim = ex.step_dim;
  dims.side_categorical = ex.categorical_cardinality;
  dims.side_dense = ex.num_dense();
  dims.item_counts = data.item_counts;
  for (const auto& t : tasks)
    if (!t.name.empty()) dims.task_outputs[t.name] = outputs_of(ex.labels[t.column]);
  return dims;
}

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  env["attnlab_version"] = ATTNLAB_VERSION;
  env["attnlab_commit"] = ATTNLAB_GIT_COMMIT;
  env["compiler"] = __VERSION__;
  env["omp_wait_policy"] = onednn::wait_policy().empty() ? "default" : onednn::wait_policy();
  const auto* v = dnnl_version();
  env["onednn"] = fmt::format("{}.{}.{} ({})", v->major, v->minor, v->patch, v->hash);
  env["tbb"] = TBB_VERSION_STRING;
  env["hdf5"] = store::hdf5_version();
  env["fmt"] = fmt::format("{}", FMT_VERSION);
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line))
    if (line.starts_with("model name")) {
      env["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  env["cores"] = std::to_string(std::thread::hardware_concurrency());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  env["host"] = host;
  return env;
}

TrialOutcome run_trial(const TrialPlan& plan) { return Trainer(plan).run(); }

}  // namespace attnlab::experiment
