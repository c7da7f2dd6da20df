#include "framework/experiment/trainer.h"

#include "framework/autograd/var.h"
#include "framework/data/batcher.h"
#include "framework/data/pipeline.h"
#include "framework/eval/metrics.h"
#include "framework/experiment/model.h"
#include "framework/onednn/onednn.h"
#include "framework/optim/clip.h"
#include "framework/registry/plugin_spec.h"
#include "framework/store/checkpoint.h"
#include "framework/store/trial.h"

#include <dnnl.hpp>
#include "framework/store/h5.h"
#include <tbb/version.h>
#include <unistd.h>

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
  std::string name;     ///< task name ("" for a single-task model's metrics: no prefix)
  std::size_t column;   ///< index into Examples::labels
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
    throw TrialFailure(fmt::format("{}: the dataset has no label column '{}'; it has: {}", where, name, list()));
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

bool lower_is_better(const std::string& metric) {
  const auto base = metric.substr(metric.rfind('.') + 1);
  return base == "loss" || base == "logloss" || base == "rmse" || base == "mae";
}

/// The model's inputs for a batch.
struct Inputs {
  Tensor x, mask;
  Var query;
  SideInputs side;
};

Inputs inputs_of(SequenceClassifier& model, const ExperimentSpec& spec, const data::Batch& b) {
  Inputs in;
  in.x = b.steps.defined() ? b.steps : b.ids;
  in.mask = b.mask;
  if (spec.model.query == "user") in.query = model.query_for(b.users);
  if (spec.model.query == "target") in.query = model.query_for(b.targets);
  in.side = {b.categorical, b.dense};
  return in;
}

/// Validation or test figures: per-task losses and metrics, keyed as in the results file.
std::map<std::string, double> evaluate(SequenceClassifier& model, const ExperimentSpec& spec, const data::PreparedData& data,
                                       const std::vector<Task>& tasks, const std::vector<std::int64_t>& rows,
                                       const eval::EvalOptions& options) {
  std::map<std::string, double> out;
  if (rows.empty()) return out;
  autograd::NoGrad no_grad;
  model.eval();
  std::vector<eval::TaskEvaluator> evaluators;
  for (const auto& t : tasks) evaluators.emplace_back(data.examples.labels[t.column], options, data.item_counts);
  std::vector<double> loss_sum(tasks.size(), 0.0);
  std::int64_t seen = 0;
  data::Batcher batcher(data.examples, rows,
                        {.batch_size = spec.eval.batch_size, .seq_len = data.seq_len, .shuffle = false, .seed = 0,
                         .drop_last = false, .prefetch = true});
  batcher.start_epoch(0);
  while (auto b = batcher.next()) {
    const Inputs in = inputs_of(model, spec, *b);
    std::vector<Var> preds;
    if (spec.model.tasks.empty())
      preds.push_back(model.forward(in.x, in.mask, in.query, in.side));
    else
      preds = model.forward_tasks(in.x, in.mask, in.query, in.side);
    const auto n = static_cast<double>(b->size());
    std::vector<Tensor> labels;
    for (const auto& t : tasks) labels.push_back(b->labels[t.column]);
    const std::vector<Var> losses =
        spec.model.tasks.empty() ? std::vector<Var>{model.loss(preds[0], labels[0])} : model.task_losses(preds, labels);
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      loss_sum[t] += static_cast<double>(losses[t].value().item()) * n;
      evaluators[t].add(preds[t].value(), labels[t], b->users, b->rows);
    }
    seen += b->size();
  }
  double total = 0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const double l = loss_sum[t] / static_cast<double>(seen);
    total += l;
    if (!tasks[t].name.empty()) out[key(tasks[t], "loss")] = l;
    for (const auto& [name, value] : evaluators[t].finish()) out[key(tasks[t], name)] = value;
  }
  out["loss"] = total;
  return out;
}

/// The first parameter gradient that is not finite, as "name has NaN" (empty: all finite).
std::string nonfinite_gradient(const SequenceClassifier& model) {
  for (const auto& [name, p] : model.named_params()) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    const float* d = g.f32();
    for (std::int64_t i = 0; i < g.numel(); ++i)
      if (!std::isfinite(d[i])) return fmt::format("the gradient of '{}' {} has {} at element {}", name, g.shape().str(),
                                                   std::isnan(d[i]) ? "NaN" : "Inf", i);
  }
  return {};
}

std::int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

/// Probe samples: the first log.probes validation rows (fixed for the whole trial), with the true
/// informative positions in the padded coordinates of the batch (left padding).
struct Probes {
  std::vector<std::int64_t> rows;
  data::Batch batch;
  std::vector<std::int64_t> truth_offsets, truth;
};

Probes make_probes(const data::PreparedData& data, int count) {
  Probes p;
  const auto& valid = data.splits.valid.empty() ? data.splits.train : data.splits.valid;
  const auto n = std::min<std::size_t>(valid.size(), static_cast<std::size_t>(count));
  p.rows.assign(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
  if (p.rows.empty()) return p;
  p.batch = data::make_batch(data.examples, p.rows, data.seq_len);
  const auto& ex = data.examples;
  p.truth_offsets.push_back(0);
  for (const auto r : p.rows) {
    if (!ex.truth_offsets.empty()) {
      const std::int64_t len = std::min(ex.length(r), data.seq_len), pad = data.seq_len - len, cut = ex.length(r) - len;
      for (auto k = ex.truth_offsets[static_cast<std::size_t>(r)]; k < ex.truth_offsets[static_cast<std::size_t>(r) + 1]; ++k) {
        const std::int64_t pos = ex.truth[static_cast<std::size_t>(k)] - cut;
        if (pos >= 0) p.truth.push_back(pad + pos);
      }
    }
    p.truth_offsets.push_back(static_cast<std::int64_t>(p.truth.size()));
  }
  return p;
}

Tensor probe_attention(SequenceClassifier& model, const ExperimentSpec& spec, const Probes& p) {
  autograd::NoGrad no_grad;
  model.eval();
  const Inputs in = inputs_of(model, spec, p.batch);
  if (spec.model.tasks.empty())
    model.forward(in.x, in.mask, in.query, in.side);
  else
    model.forward_tasks(in.x, in.mask, in.query, in.side);
  return model.attention_weights();
}

/// Attention variants without weights (none) leave nothing to record.
void write_attention(store::TrialWriter& writer, int epoch, const Tensor& weights) {
  if (weights.defined()) writer.write_attention("attention", epoch, weights);
}

}  // namespace

std::vector<std::size_t> label_columns(const ExperimentSpec& spec, const data::Examples& examples) {
  std::vector<std::size_t> out;
  for (const auto& t : bind_tasks(spec, examples)) out.push_back(t.column);
  return out;
}

ModelDims dims_for(const ExperimentSpec& spec, const data::PreparedData& data) {
  const auto& ex = data.examples;
  const auto tasks = bind_tasks(spec, ex);
  ModelDims dims;
  dims.vocab = ex.vocab;
  dims.seq_len = data.seq_len;
  dims.num_outputs = outputs_of(ex.labels[tasks[0].column]);
  dims.padding_idx = ex.step_dim > 0 ? -1 : 0;
  dims.users = ex.num_users;
  dims.step_dim = ex.step_dim;
  dims.side_categorical = ex.categorical_cardinality;
  dims.side_dense = ex.num_dense();
  for (const auto& t : tasks)
    if (!t.name.empty()) dims.task_outputs[t.name] = outputs_of(ex.labels[t.column]);
  return dims;
}

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  env["attnlab_version"] = ATTNLAB_VERSION;
  env["attnlab_commit"] = ATTNLAB_GIT_COMMIT;
  env["compiler"] = __VERSION__;
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

TrialOutcome run_trial(const TrialPlan& plan) {
  const auto t_start = Clock::now();
  TrialOutcome outcome;
  const ExperimentSpec& spec = plan.spec.spec;
  const fs::path ckpt_path = store::checkpoint_path(plan.out_dir, plan.id);
  std::unique_ptr<store::TrialWriter> writer;
  TrialProgress progress{.id = plan.id, .epoch = 0, .epochs = spec.train.epochs, .batch = 0, .batches = 0, .loss = 0,
                         .samples_per_s = 0, .eta_s = 0, .phase = "data"};
  auto report = [&] {
    if (plan.progress) plan.progress(progress);
  };
  try {
    onednn::set_threads(plan.threads);
    writer = std::make_unique<store::TrialWriter>(plan.out_dir, plan.id);
    writer->write_config(config::to_yaml(plan.spec.resolved), plan.spec.hash);
    auto env = environment();
    env["threads"] = std::to_string(plan.threads);
    env["seed"] = std::to_string(spec.train.seed);
    for (const auto& [k, v] : plan.env) env[k] = v;
    writer->write_env(env);
    report();

    // ---- data -------------------------------------------------------------------------------
    core::Rng root(static_cast<std::uint64_t>(spec.train.seed));
    core::Rng data_rng = root.fork(1), model_rng = root.fork(2);
    const auto t_data = Clock::now();
    const data::PreparedData data = data::prepare_data(spec.data.dataset, spec.preprocess, data_rng, plan.spec.base_dir);
    const double data_seconds = since(t_data);

    const auto tasks = bind_tasks(spec, data.examples);
    const auto& ex = data.examples;

    // ---- model ------------------------------------------------------------------------------
    const ModelDims dims = dims_for(spec, data);
    SequenceClassifier model(spec.model, dims, model_rng);
    auto opt = registry::create(spec.train.optimizer, {.params = model.params()});
    data::Batcher train_batches(ex, data.splits.train,
                                {.batch_size = spec.train.batch_size, .seq_len = data.seq_len, .shuffle = true,
                                 .seed = static_cast<std::uint64_t>(spec.train.seed), .drop_last = false, .prefetch = true});
    const std::int64_t per_epoch = train_batches.batches_per_epoch();
    auto schedule = registry::create(spec.train.schedule, {.base_lr = opt->lr(), .total_steps = per_epoch * spec.train.epochs});
    const eval::EvalOptions eval_options{
        .metrics = spec.eval.metrics,
        .ks = spec.eval.ks,
        .ranking = {.mode = spec.eval.ranking.mode, .negatives = spec.eval.ranking.negatives,
                    .sampler = spec.eval.ranking.sampler, .seed = static_cast<std::uint64_t>(spec.eval.ranking.seed)}};
    const Probes probes = make_probes(data, spec.log.probes);
    if (!probes.rows.empty()) {
      std::map<std::string, Tensor> arrays;
      arrays["rows"] = Tensor::from_i64(probes.rows, Shape{static_cast<std::int64_t>(probes.rows.size())});
      if (probes.batch.ids.defined()) arrays["ids"] = probes.batch.ids;
      if (probes.batch.steps.defined()) arrays["inputs"] = probes.batch.steps;
      arrays["mask"] = probes.batch.mask;
      if (!ex.truth_offsets.empty()) {
        arrays["truth"] = Tensor::from_i64(probes.truth, Shape{static_cast<std::int64_t>(probes.truth.size())});
        arrays["truth_offsets"] = Tensor::from_i64(probes.truth_offsets, Shape{static_cast<std::int64_t>(probes.truth_offsets.size())});
      }
      writer->write_attention_probe(arrays);
    }
    {
      std::string protocol = data.protocol;
      for (const auto& t : tasks)
        if (ex.labels[t.column].kind == data::LabelKind::kItem) {
          protocol += "; " + eval_options.ranking.describe(ex.labels[t.column].classes);
          break;
        }
      store::DataRecord record;
      record.protocol = protocol;
      record.split_sizes = {{"train", static_cast<std::int64_t>(data.splits.train.size())},
                            {"valid", static_cast<std::int64_t>(data.splits.valid.size())},
                            {"test", static_cast<std::int64_t>(data.splits.test.size())}};
      record.report = data.report.lines;
      record.report.push_back(fmt::format("data prepared in {:.2f} s", data_seconds));
      for (const auto& [step, arrays] : data.fitted) record.fitted.emplace_back(step, arrays);
      writer->write_data(record);
    }


    // ---- state carried across epochs (and checkpoints) --------------------------------------
    std::map<std::string, Tensor> best_state = model.state();
    double best = std::numeric_limits<double>::quiet_NaN();
    int best_epoch = 0, since_best = 0, first_epoch = 1;
    const bool lower = lower_is_better(spec.eval.select);

    if (fs::exists(ckpt_path)) {
      const store::Checkpoint ck = store::load_checkpoint(ckpt_path);
      if (ck.config_hash != plan.spec.hash)
        throw TrialFailure(fmt::format("checkpoint {} belongs to another config (hash {}, this trial {})", ckpt_path.string(),
                                       ck.config_hash, plan.spec.hash));
      std::map<std::string, Tensor> current;
      for (const auto& [name, t] : ck.params)
        if (!name.starts_with("best/")) current[name] = t;
      model.load_state(current);
      opt->load_state(ck.optimizer);
      best_state.clear();
      for (const auto& [name, t] : ck.params)
        if (name.starts_with("best/")) best_state[name.substr(5)] = t;
      model_rng.set_state(ck.rngs.at("model"));
      writer->restore_series(ck.arrays);
      best = ck.scalars.at("best");
      best_epoch = static_cast<int>(ck.scalars.at("best_epoch"));
      since_best = static_cast<int>(ck.scalars.at("since_best"));
      first_epoch = static_cast<int>(ck.epoch) + 1;
      outcome.resumed_from_epoch = static_cast<int>(ck.epoch);
    }
    auto push = [&](const std::string& split, const std::string& name, int epoch, double value) {
      writer->append_curve(split, name, epoch, value);
    };

    std::vector<int> attention_epochs(spec.log.attention_epochs.begin(), spec.log.attention_epochs.end());
    const auto t_train = Clock::now();
    std::int64_t samples_done = 0;
    int last_epoch = first_epoch - 1;
    for (int epoch = first_epoch; epoch <= spec.train.epochs; ++epoch) {
      const auto t_epoch = Clock::now();
      model.train();
      train_batches.start_epoch(epoch);
      progress.phase = "train";
      progress.epoch = epoch;
      progress.batch = 0;
      progress.batches = per_epoch;
      report();
      std::vector<double> task_loss_sum(tasks.size(), 0.0);
      double loss_sum = 0;
      std::int64_t steps = 0, samples = 0;
      auto last_report = Clock::now();
      while (auto b = train_batches.next()) {
        if (plan.stop && plan.stop->load()) {
          outcome.status = TrialOutcome::Status::kStopped;
          outcome.seconds = since(t_start);
          writer->flush();
          return outcome;
        }
        const Inputs in = inputs_of(model, spec, *b);
        opt->zero_grad();
        opt->set_lr(schedule->lr(opt->steps()));
        double step_loss = 0;
        if (spec.model.tasks.empty()) {
          const Var loss = model.train_loss(in.x, in.mask, in.query, in.side, b->labels[tasks[0].column]);
          step_loss = loss.value().item();
          task_loss_sum[0] += step_loss;
          if (!std::isfinite(step_loss))
            throw TrialFailure(fmt::format("epoch {} step {}: the training loss is {}", epoch, opt->steps() + 1, step_loss));
          loss.backward();
        } else {
          std::vector<Tensor> labels;
          for (const auto& t : tasks) labels.push_back(b->labels[t.column]);
          const auto losses = model.task_train_losses(in.x, in.mask, in.query, in.side, labels);
          for (std::size_t t = 0; t < losses.size(); ++t) {
            const double l = losses[t].value().item();
            if (!std::isfinite(l))
              throw TrialFailure(fmt::format("epoch {} step {}: the loss of task '{}' is {}", epoch, opt->steps() + 1, tasks[t].name, l));
            task_loss_sum[t] += l;
            step_loss += l;
          }
          model.backward_tasks(losses);
        }
        if (const auto bad = nonfinite_gradient(model); !bad.empty())
          throw TrialFailure(fmt::format("epoch {} step {}: {}", epoch, opt->steps() + 1, bad));
        if (spec.train.clip_norm > 0) optim::clip_grad_norm(model.params(), static_cast<float>(spec.train.clip_norm));
        opt->step();
        loss_sum += step_loss;
        ++steps;
        samples += b->size();
        if (plan.progress && since(last_report) > 0.25) {
          last_report = Clock::now();
          progress.batch = train_batches.position();
          progress.loss = loss_sum / static_cast<double>(steps);
          progress.samples_per_s = static_cast<double>(samples_done + samples) / std::max(since(t_train), 1e-9);
          const double per_batch = since(t_epoch) / static_cast<double>(steps);
          progress.eta_s = per_batch * static_cast<double>((per_epoch - steps) + per_epoch * (spec.train.epochs - epoch));
          report();
        }
      }
      samples_done += samples;
      const double train_seconds = since(t_epoch);
      push("train", "loss", epoch, loss_sum / static_cast<double>(std::max<std::int64_t>(steps, 1)));
      if (!spec.model.tasks.empty()) {
        for (std::size_t t = 0; t < tasks.size(); ++t)
          push("train", key(tasks[t], "loss"), epoch, task_loss_sum[t] / static_cast<double>(std::max<std::int64_t>(steps, 1)));
        const auto w = model.weighting()->weights();
        for (std::size_t t = 0; t < tasks.size() && t < w.size(); ++t) push("train", "weight." + tasks[t].name, epoch, w[t]);
        model.weighting()->end_epoch([&] {
          std::vector<double> m;
          for (const auto s : task_loss_sum) m.push_back(s / static_cast<double>(std::max<std::int64_t>(steps, 1)));
          return m;
        }());
      }
      push("train", "lr", epoch, opt->lr());
      writer->append_epoch_time(epoch, train_seconds, static_cast<double>(samples) / std::max(train_seconds, 1e-9));

      progress.phase = "valid";
      progress.batch = per_epoch;
      progress.loss = loss_sum / static_cast<double>(std::max<std::int64_t>(steps, 1));
      progress.samples_per_s = static_cast<double>(samples_done) / std::max(since(t_train), 1e-9);
      progress.eta_s = since(t_train) / static_cast<double>(epoch - first_epoch + 1) * static_cast<double>(spec.train.epochs - epoch);
      report();
      const auto valid = evaluate(model, spec, data, tasks, data.splits.valid, eval_options);
      for (const auto& [name, value] : valid) push("valid", name, epoch, value);
      double current = std::numeric_limits<double>::quiet_NaN();
      if (!valid.empty()) {
        const auto it = valid.find(spec.eval.select);
        if (it == valid.end()) {
          std::string names;
          for (const auto& [n, _] : valid) names += (names.empty() ? "" : ", ") + n;
          throw TrialFailure(fmt::format("eval.select: '{}' is not a validation figure of this model; there are: {}",
                                         spec.eval.select, names));
        }
        current = it->second;
      }
      const bool improved = std::isnan(best) || (!std::isnan(current) && (lower ? current < best : current > best));
      if (improved) {
        best = std::isnan(current) ? best : current;
        best_epoch = epoch;
        since_best = 0;
        best_state = model.state();
      } else {
        ++since_best;
      }
      if (std::find(attention_epochs.begin(), attention_epochs.end(), epoch) != attention_epochs.end() && !probes.rows.empty())
        write_attention(*writer, epoch, probe_attention(model, spec, probes));
      last_epoch = epoch;
      const bool stop_early = spec.eval.patience > 0 && since_best >= spec.eval.patience;
      if (spec.log.checkpoint && epoch < spec.train.epochs && !stop_early) {
        store::Checkpoint ck;
        ck.config_hash = plan.spec.hash;
        ck.epoch = epoch;
        ck.params = model.state();
        for (const auto& [name, t] : best_state) ck.params["best/" + name] = t;
        ck.optimizer = opt->state();
        ck.rngs["model"] = model_rng.state();
        ck.step = opt->steps();
        ck.arrays = writer->series();
        ck.scalars = {{"best", best}, {"best_epoch", best_epoch}, {"since_best", since_best}};
        store::save_checkpoint(ckpt_path, ck);
      }
      writer->flush();
      if (stop_early) break;
    }

    // ---- final evaluation at the best epoch ---------------------------------------------------
    model.load_state(best_state);
    progress.phase = "test";
    report();
    for (const auto& [split, rows] : {std::pair{"valid", &data.splits.valid}, std::pair{"test", &data.splits.test}})
      for (const auto& [name, value] : evaluate(model, spec, data, tasks, *rows, eval_options)) {
        writer->write_final(split, name, value);
        outcome.final[std::string(split) + "/" + name] = value;
      }
    if (!probes.rows.empty() && attention_epochs.empty())
      write_attention(*writer, best_epoch, probe_attention(model, spec, probes));
    const double train_total = since(t_train);
    writer->write_timing(since(t_start), static_cast<double>(samples_done) / std::max(train_total, 1e-9), peak_rss_bytes());
    {
      auto timing = writer->file().group("timing");
      timing.set_attr("peak_tensor_bytes", static_cast<std::int64_t>(core::tensor_bytes_peak()));
      timing.set_attr("best_epoch", static_cast<std::int64_t>(best_epoch));
      timing.set_attr("epochs_run", static_cast<std::int64_t>(last_epoch));
    }
    writer->finish_done();
    outcome.status = TrialOutcome::Status::kDone;
  } catch (const std::exception& e) {
    outcome.status = TrialOutcome::Status::kFailed;
    outcome.message = e.what();
    const std::string failed_at = progress.phase == "data" ? "data" : fmt::format("epoch {} ({})", progress.epoch, progress.phase);
    if (writer) {
      try {
        writer->finish_failed(outcome.message, failed_at);
      } catch (const std::exception&) {
        // The message is still returned to the sweep, which records it in the ledger.
      }
    }
  }
  std::error_code ignored;
  if (outcome.status != TrialOutcome::Status::kStopped) fs::remove(ckpt_path, ignored);
  outcome.seconds = since(t_start);
  return outcome;
}

}  // namespace attnlab::experiment
