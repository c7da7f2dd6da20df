#include "framework/experiment/runner.h"

#include "framework/config/value.h"
#include "framework/eval/metrics.h"
#include "framework/experiment/mpi.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "framework/experiment/trainer.h"
#include "framework/experiment/trial_source.h"
#include "framework/experiment/watch.h"
#include "framework/store/durable.h"
#include "framework/store/index.h"
#include "framework/store/ledger.h"
#include "framework/store/trial.h"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace attnlab::experiment {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_interrupted{0};  // the stop signal that arrived (SIGINT, SIGTERM), or 0
extern "C" void on_stop_signal(int sig) { g_interrupted.store(sig); }

std::string hms(double s) { return clock_text(s, "?"); }

std::string figure(double x) { return std::isnan(x) ? "-" : fmt::format("{:.4f}", x); }

/// The live display. On a terminal, redrawn in place: a sweep line (trials done, running, failed,
/// elapsed, ETA from the measured epoch times) and one line per running trial (epoch, batch, loss,
/// samples/s, its last validation figure). Off a terminal (nohup, CI, a scheduler's log): one
/// plain line per trial and epoch with the same figures. Both print a line per finished trial with
/// its best validation figure. Labels are the short ones (short_labels).
class Display {
 public:
  Display(bool quiet, std::size_t total, int jobs, int epochs, std::map<std::string, std::string> labels)
      : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0), total_(total), jobs_(std::max(jobs, 1)),
        epochs_(std::max(epochs, 1)), labels_(std::move(labels)), t0_(std::chrono::steady_clock::now()) {}

  void update(const TrialProgress& p) {
    std::lock_guard lock(mu_);
    running_[p.id] = p;
    if (p.phase != "epoch") return;
    if (!std::isnan(p.epoch_seconds)) {
      epoch_seconds_ += p.epoch_seconds;
      ++epochs_seen_;
    }
    if (quiet_ || tty_) return;
    fmt::print(stderr,
               "trial {} epoch {}/{}: train loss {:.4f}, {:.0f} samples/s, valid {} {} (best {}), {} per epoch; "
               "sweep {}/{} finished, ETA {}{}\n",
               p.id, p.epoch, p.epochs, p.loss, p.samples_per_s, p.select, figure(p.valid), figure(p.best),
               hms(p.epoch_seconds), finished_, total_, hms(eta()), label_of(p.id, "  "));
    std::fflush(stderr);
  }
  void finished(const std::string& id, const TrialOutcome& o) {
    std::lock_guard lock(mu_);
    TrialProgress last;
    if (const auto it = running_.find(id); it != running_.end()) {
      last = it->second;
      running_.erase(it);
    }
    ++finished_;
    if (o.status == TrialOutcome::Status::kFailed) ++failed_;
    if (quiet_) {
      // Quiet means no progress and no table, not silence about a failure: whoever runs quietly (a
      // script, `attnlab tune`'s trials) still learns why a trial failed.
      if (o.status == TrialOutcome::Status::kFailed)
        fmt::print(stderr, "{} FAILED{}: {}\n", id, label_of(id, " "), o.message);
      return;
    }
    clear();
    const char* what = o.status == TrialOutcome::Status::kDone     ? "done"
                       : o.status == TrialOutcome::Status::kFailed ? "FAILED"
                                                                   : "stopped";
    const std::string best =
        std::isnan(last.best) ? "" : fmt::format(", best valid {} {}", last.select, figure(last.best));
    fmt::print(stderr, "[{}/{}] {} {} ({}{}){}\n", finished_, total_, id, what, hms(o.seconds), best,
               label_of(id, "  "));
    if (o.status == TrialOutcome::Status::kFailed) fmt::print(stderr, "    {}\n", o.message);
    for (const auto& w : o.warnings)
      if (warned_.insert(w).second) fmt::print(stderr, "    warning: {}\n", w);
    draw_locked();
  }
  void draw() {
    std::lock_guard lock(mu_);
    if (!quiet_ && tty_) {
      clear();
      draw_locked();
    }
  }
  void close() {
    std::lock_guard lock(mu_);
    if (!quiet_ && tty_) clear();
  }

 private:
  std::string label_of(const std::string& id, std::string_view sep) const {
    const auto it = labels_.find(id);
    return it == labels_.end() || it->second.empty() ? "" : std::string(sep) + it->second;
  }
  /// Seconds left in the sweep: epochs left (running trials' and the waiting ones') times the mean
  /// measured epoch time, over the trials that run at once. NaN before the first epoch ends.
  double eta() const {
    if (epochs_seen_ == 0) return std::numeric_limits<double>::quiet_NaN();
    double left = 0;
    for (const auto& [id, p] : running_) {
      const double done = p.phase == "train" && p.batches > 0
                              ? (p.epoch - 1) + static_cast<double>(p.batch) / static_cast<double>(p.batches)
                              : p.epoch;
      left += std::max(0.0, static_cast<double>(std::max(p.epochs, 1)) - done);
    }
    const std::size_t waiting = total_ - std::min(total_, finished_ + running_.size());
    left += static_cast<double>(waiting) * epochs_;
    const double at_once =
        static_cast<double>(std::max<std::size_t>(1, std::min<std::size_t>(jobs_, waiting + running_.size())));
    return left * (epoch_seconds_ / static_cast<double>(epochs_seen_)) / at_once;
  }
  void clear() {
    if (!tty_) return;
    for (std::size_t i = 0; i < drawn_; ++i) std::fputs("\x1b[1A\x1b[2K", stderr);
    drawn_ = 0;
  }
  void draw_locked() {
    if (!tty_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    fmt::print(stderr, "sweep: {}/{} finished ({} failed), {} running, elapsed {}, ETA {}\n", finished_, total_,
               failed_, running_.size(), hms(elapsed), hms(eta()));
    ++drawn_;
    for (const auto& [id, p] : running_) {
      const std::string valid = std::isnan(p.valid) ? "" : fmt::format(" valid {} {}", p.select, figure(p.valid));
      if (p.phase == "train")
        fmt::print(stderr, "  {} epoch {}/{} batch {}/{} loss {:.4f} {:.0f} samples/s{}{}\n", id, p.epoch, p.epochs,
                   p.batch, p.batches, p.loss, p.samples_per_s, valid, label_of(id, "  "));
      else
        fmt::print(stderr, "  {} epoch {}/{} {}{}{}\n", id, p.epoch, p.epochs, p.phase, valid, label_of(id, "  "));
      ++drawn_;
    }
    std::fflush(stderr);
  }

  bool quiet_, tty_;
  std::size_t total_, finished_ = 0, failed_ = 0, drawn_ = 0;
  std::size_t jobs_;
  int epochs_;
  std::map<std::string, std::string> labels_;  // trial id -> short label
  std::chrono::steady_clock::time_point t0_;
  double epoch_seconds_ = 0;
  std::size_t epochs_seen_ = 0;
  std::mutex mu_;
  std::map<std::string, TrialProgress> running_;
  std::set<std::string> warned_;  // each distinct data warning once per sweep
};

/// Where a worker gets its next trial and where trial states go: this process's list and ledger,
/// or (under MPI) rank 0, which owns both. Thread-safe.
class LocalSource : public TrialSource {
 public:
  using OnState = std::function<void(const std::string&, store::TrialState, const std::string&)>;
  LocalSource(std::vector<std::size_t> todo, OnState on_state)
      : todo_(std::move(todo)), on_state_(std::move(on_state)) {}
  std::optional<std::size_t> next() override {
    const std::size_t n = next_.fetch_add(1);
    if (n >= todo_.size()) return std::nullopt;
    return todo_[n];
  }
  void report(const std::string& id, store::TrialState state, const std::string& message) override {
    std::lock_guard lock(mu_);
    on_state_(id, state, message);
  }

 private:
  std::vector<std::size_t> todo_;
  OnState on_state_;
  std::mutex mu_;
  std::atomic<std::size_t> next_{0};
};

std::string fingerprint(const std::vector<std::string>& ids) {
  std::string text;
  for (const auto& id : ids) text += id + "\n";
  return config::hash(config::Value::scalar(text));
}

/// Writes sweep.yaml, or refuses a directory made by another spec. A directory grows: a spec whose
/// trials share some with the directory's (more seeds, more axis values) adds its new trials and
/// keeps the finished ones; sweep.yaml then lists every trial the directory has seen.
void claim_directory(const fs::path& dir, const std::string& spec_path, const std::vector<Trial>& trials, bool force,
                     const std::string& spec_yaml, bool quiet) {
  fs::create_directories(dir);
  const fs::path meta = dir / "sweep.yaml";
  std::vector<std::string> ids;
  for (const auto& t : trials) ids.push_back(t.id);
  std::vector<std::string> all = ids;  // what sweep.yaml will list
  if (fs::exists(meta)) {
    std::ifstream in(meta);
    std::string first, second;
    std::getline(in, first);
    std::getline(in, second);
    std::vector<std::string> before;
    if (second.starts_with("# trials:")) {
      std::istringstream list(second.substr(9));
      for (std::string id; list >> id;) before.push_back(id);
    }
    const std::set<std::string> had(before.begin(), before.end());
    std::size_t common = 0;
    for (const auto& id : ids) common += had.count(id);
    if (before.empty() ? first != "# fingerprint: " + fingerprint(ids) : common == 0) {
      if (!force)
        throw Error(fmt::format(
            "{}: this sweep directory was made by a different spec (none of its {} trials is one of {}'s {}); "
            "use another log.dir or name, or --force to run into it anyway",
            dir.string(), before.empty() ? std::string("earlier") : std::to_string(before.size()), spec_path,
            ids.size()));
    }
    if (!before.empty() && common == ids.size() && common == before.size()) return;  // the same trials
    if (!before.empty() && common > 0 && !quiet)
      fmt::print(stderr, "{}: the sweep grows: {} new trial{}, {} of its {} earlier trials in this spec\n",
                 dir.string(), ids.size() - common, ids.size() - common == 1 ? "" : "s", common, before.size());
    all = before;
    for (const auto& id : ids)
      if (!had.count(id)) all.push_back(id);
  }
  std::string list;
  for (const auto& id : all) list += " " + id;
  store::write_durably(meta, [&](const fs::path& temp) {
    std::ofstream out(temp);
    out << "# fingerprint: " << fingerprint(ids) << "\n# trials:" << list << "\n# spec: " << spec_path << "\n"
        << spec_yaml;
  });
}

std::vector<std::pair<std::string, std::string>> swept_of(const Trial& t) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : t.assignments) out.emplace_back(k, config::canonical(v));
  return out;
}

}  // namespace

fs::path results_dir(const ResolvedSpec& spec) {
  // The one rule for paths: a relative path the spec writes (data files, log.dir) is relative to the
  // spec's directory; log.dir's default, when the spec does not write it, is the working directory's.
  const config::Value* log = spec.raw.find("log");
  const bool written = log && log->is_map() && log->find("dir");
  fs::path dir = spec.spec.log.dir;
  if (written && dir.is_relative()) dir = fs::path(spec.base_dir) / dir;
  return (dir / spec.spec.name).lexically_normal();
}

std::pair<int, int> choose_parallelism(int jobs, int threads, int cores, std::size_t trials) {
  cores = std::max(cores, 1);
  const int max_jobs = static_cast<int>(std::max<std::size_t>(trials, 1));
  if (jobs == 0 && threads == 0) {
    threads = 1;
    jobs = std::min(cores, max_jobs);
  } else if (jobs == 0) {
    jobs = std::clamp(cores / threads, 1, max_jobs);
  } else if (threads == 0) {
    threads = std::max(1, cores / jobs);
  }
  if (jobs * threads > cores)
    throw Error(fmt::format(
        "--jobs {} x --threads {} = {} threads exceed the {} cores of this machine (it would oversubscribe)", jobs,
        threads, jobs * threads, cores));
  return {jobs, threads};
}

SweepResult run_sweep(const SweepOptions& o) {
  const ResolvedSpec base =
      load_experiment(o.spec, o.overrides, o.single ? Multirun::refuse : Multirun::allow, o.plugins);
  // The trials as loading resolved them (once); `attnlab run` takes the spec without its sweep.
  std::vector<Trial> trials;
  std::vector<const ResolvedSpec*> resolved;
  ResolvedSpec single_spec;
  if (o.single && base.raw.find("sweep")) {
    Trial t;
    t.spec = base.raw;
    t.spec.erase("sweep");
    t.id = base.hash.substr(0, 12);
    single_spec = {.base_dir = base.base_dir,
                   .raw = t.spec,
                   .spec = base.spec,
                   .resolved = base.resolved,
                   .hash = base.hash,
                   .trials = {}};
    trials.push_back(std::move(t));
    resolved.push_back(&single_spec);
  } else {
    for (const auto& rt : base.trials) {
      trials.push_back(rt.trial);
      resolved.push_back(&rt.spec);
    }
  }
  if (o.shards < 1 || o.shard < 0 || o.shard >= o.shards)
    throw Error(fmt::format("--shard {}/{}: need 0 <= i < N", o.shard, o.shards));

  SweepResult result;
  const fs::path dir = o.out_dir.empty() ? results_dir(base) : fs::path(o.out_dir);
  result.dir = dir.string();
  const bool distributed = mpi::active();
  const bool leader = !distributed || mpi::rank() == 0;
  if (distributed && o.shards > 1) throw Error("--shard and mpirun are alternatives: use one of them");
  // Options that cannot run are refused before anything is written (the real choice, below,
  // depends on how many trials are left to run).
  choose_parallelism(o.jobs, o.threads, static_cast<int>(std::thread::hardware_concurrency()), trials.size());
  if (leader) claim_directory(dir, o.spec, trials, o.force, config::to_yaml(base.raw), o.quiet);
  std::unique_ptr<store::Ledger> ledger;
  if (leader) ledger = std::make_unique<store::Ledger>((dir / "ledger.tsv").string());

  // This process's trials (a shard, or all of them), and which of those still need running.
  std::vector<std::size_t> mine, todo;
  for (std::size_t i = 0; i < trials.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(o.shards)) == o.shard) mine.push_back(i);
  std::map<std::size_t, std::size_t> row_of;  // trial index -> row
  std::mutex rows_mu;
  auto row_for = [&](std::size_t trial) -> SweepRow& {
    std::lock_guard lock(rows_mu);
    auto it = row_of.find(trial);
    if (it == row_of.end()) {
      it = row_of.emplace(trial, result.rows.size()).first;
      result.rows.push_back({.id = trials[trial].id,
                             .label = trials[trial].label(),
                             .status = "",
                             .message = "",
                             .final = {},
                             .seconds = 0,
                             .skipped = false});
    }
    return result.rows[it->second];
  };
  if (leader) {
    // A trial whose last record says it runs, while no run of this sweep is under way, was cut
    // short without a word (kill -9, a lost MPI rank, a machine that went down): say so.
    const auto before = store::read_ledger(dir / "ledger.tsv");
    for (const std::size_t i : mine) {
      const Trial& t = trials[i];
      const auto prior = store::inspect_trial(dir, t.id);
      using Kind = store::TrialFileStatus::Kind;
      if (prior.kind == Kind::done) {
        const store::TrialReader r(store::trial_path(dir, t.id));
        SweepRow& row = row_for(i);
        row.status = "done";
        row.skipped = true;
        for (const auto& [split, metrics] : r.finals())
          for (const auto& [metric, value] : metrics) row.final.emplace_back(split + "/" + metric, value);
        ++result.skipped;
        continue;
      }
      if (const auto last = before.last.find(t.id); last != before.last.end() &&
                                                    last->second.state == store::TrialState::running &&
                                                    !last->second.message.starts_with("interrupted"))
        ledger->append(t.id, store::TrialState::running,
                       "interrupted: the run that ran it ended before it did (killed?); it runs again, from its "
                       "checkpoint if it has one");
      if (prior.kind == Kind::unreadable) {
        fs::remove(store::trial_path(dir, t.id));
        ledger->append(t.id, store::TrialState::planned,
                       "its trial file did not read (" + prior.message + "); running it again");
      }
      todo.push_back(i);
    }
  }

  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const auto [jobs, threads] = choose_parallelism(o.jobs, o.threads, cores, distributed ? trials.size() : todo.size());
  if (!o.quiet && leader)
    fmt::print(stderr, "sweep {}: {} trial{} ({} finished earlier), {}{} job{} x {} thread{}, results in {}\n",
               base.spec.name, mine.size(), mine.size() == 1 ? "" : "s", result.skipped,
               distributed ? fmt::format("{} ranks x ", mpi::size()) : "", jobs, jobs == 1 ? "" : "s", threads,
               threads == 1 ? "" : "s", dir.string());

  std::mutex index_mu;
  auto update_index = [&] {
    std::lock_guard lock(index_mu);
    try {
      std::vector<store::IndexRow> rows;
      for (const auto& t : trials)
        if (fs::exists(store::trial_path(dir, t.id))) {
          try {
            rows.push_back(store::index_row(store::trial_path(dir, t.id), swept_of(t)));
          } catch (const store::StoreError&) {
            // Unreadable: the next run re-runs it; the index lists only readable trials.
          }
        }
      store::write_index(dir, rows, [](std::string_view figure) { return eval::lower_is_better(figure); });
    } catch (const std::exception& e) {
      fmt::print(stderr, "warning: could not update {}: {}\n", (dir / "index.h5").string(), e.what());
    }
  };
  auto on_state = [&](const std::string& id, store::TrialState state, const std::string& message) {
    ledger->append(id, state, message);
    if (state == store::TrialState::done || state == store::TrialState::failed) update_index();
  };
  std::unique_ptr<TrialSource> source;
  if (!distributed)
    source = std::make_unique<LocalSource>(todo, on_state);
  else if (leader)
    source = mpi::coordinator(todo, on_state);
  else
    source = mpi::client();

  std::map<std::string, std::string> labels_by_id;
  {
    const auto shorts = short_labels(trials);
    for (std::size_t i = 0; i < trials.size(); ++i) labels_by_id[trials[i].id] = shorts[i];
  }
  Display display(o.quiet, distributed ? trials.size() : todo.size(), jobs, base.spec.train.epochs, labels_by_id);
  std::atomic<bool> stop{false};
  g_interrupted.store(0);
  // Ctrl-C, and SIGTERM (a scheduler's end of job; mpirun's before it kills the ranks): the trials
  // stop at their next batch and are recorded as interrupted.
  auto previous_int = std::signal(SIGINT, on_stop_signal);
  auto previous_term = std::signal(SIGTERM, on_stop_signal);
  bool stopping = false;
  std::atomic<int> workers_left{jobs};
  {
    tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism,
                                    static_cast<std::size_t>(jobs * threads + 1));
    tbb::task_arena scheduler(jobs, 0);
    std::mutex halt_mu;
    // Stops the sweep for a reason that concerns every trial (the storage failed): no trial starts,
    // running ones stop at their next batch as on Ctrl-C (keeping their checkpoints), the first
    // reason is kept.
    auto halt = [&](const std::string& why) {
      std::lock_guard lock(halt_mu);
      if (result.halted_by.empty()) result.halted_by = why;
      stop.store(true);
    };
    auto work = [&] {  // one worker's loop
      while (!stop.load()) {
        const auto next = source->next();
        if (!next) break;
        const Trial& t = trials[*next];
        TrialPlan plan;
        plan.id = t.id;
        plan.spec = *resolved[*next];
        plan.out_dir = dir.string();
        plan.threads = threads;
        plan.alone = jobs == 1;
        plan.swept = swept_of(t);
        plan.label = labels_by_id.at(t.id);
        if (distributed) plan.env["mpi_rank"] = std::to_string(mpi::rank());
        plan.progress = [&](const TrialProgress& p) { display.update(p); };
        plan.stop = &stop;
        source->report(t.id, store::TrialState::running, t.label());
        TrialOutcome out;
        tbb::task_arena trial_arena(threads);
        trial_arena.execute([&] { out = run_trial(plan); });
        SweepRow& row = row_for(*next);
        row.seconds = out.seconds;
        row.message = out.message;
        row.final.assign(out.final.begin(), out.final.end());
        switch (out.status) {
          case TrialOutcome::Status::kDone:
            row.status = "done";
            source->report(t.id, store::TrialState::done, "");
            break;
          case TrialOutcome::Status::kFailed:
            row.status = "failed";
            source->report(t.id, store::TrialState::failed, out.message);
            if (o.fail_fast) stop.store(true);
            if (out.storage_errno != 0) halt(out.message);
            break;
          case TrialOutcome::Status::kStopped:
            row.status = "stopped";
            source->report(t.id, store::TrialState::running, "interrupted; resumes from its checkpoint");
            break;
        }
        display.finished(t.id, out);
      }
    };
    auto worker = [&] {
      // However the loop ends, this worker is gone (the main thread waits for every worker).
      struct Leave {
        std::atomic<int>& left;
        ~Leave() { left.fetch_sub(1); }
      } leave{workers_left};
      try {
        work();
      } catch (const std::exception& e) {
        halt(e.what());
      }
    };
    tbb::task_group group;
    scheduler.execute([&] {
      for (int j = 0; j < jobs; ++j) group.run(worker);
    });
    // The main thread only redraws the display and watches for Ctrl-C; the trials run on the
    // arena's threads.
    while (workers_left.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (const int sig = g_interrupted.load(); sig != 0 && !stopping) {
        stopping = true;
        stop.store(true);
        source->stopping(sig == SIGTERM ? "the sweep got SIGTERM (the job is being ended)" : "the sweep got SIGINT");
        if (distributed && leader && sig == SIGTERM)
          fmt::print(stderr,
                     "attnlab: SIGTERM: the trials that run are marked interrupted (run the same command again to "
                     "finish them). If an MPI rank died, Open MPI ends every rank by default; with `mpirun --mca "
                     "orte_abort_on_non_zero_status 0` the other ranks finish their trials\n");
      }
      display.draw();
    }
    scheduler.execute([&] { group.wait(); });
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  display.close();
  source->finish();
  if (leader) update_index();
  // Ranks lost mid-sweep: their trials are rows too (the ledger marks them interrupted).
  for (const auto& [rank, id] : source->lost()) {
    std::string what = "no trial";
    if (!id.empty()) {
      const auto it = std::find_if(trials.begin(), trials.end(), [&](const Trial& t) { return t.id == id; });
      what = "trial " + id;
      if (it != trials.end()) {
        SweepRow& row = row_for(static_cast<std::size_t>(it - trials.begin()));
        row.status = "lost";
        row.message = fmt::format("MPI rank {} was lost while it ran this trial", rank);
        if (!it->label().empty()) what += " (" + it->label() + ")";
      }
    }
    result.lost.push_back(fmt::format("MPI rank {} was lost while it ran {}", rank, what));
  }
  if (leader && !distributed)  // under MPI the other ranks' trials are not rows here
    for (const std::size_t i : todo)
      if (SweepRow& row = row_for(i); row.status.empty()) row.status = "not run";
  for (const auto& row : result.rows) {
    if (row.status == "not run") ++result.not_run;
    if (row.skipped) continue;
    if (row.status == "done") ++result.done;
    if (row.status == "failed") ++result.failed;
    if (row.status == "stopped" || row.status == "lost") ++result.stopped;
  }
  // Rows in sweep order (row_of is keyed by trial index).
  std::vector<SweepRow> ordered;
  for (const auto& [trial, row] : row_of) ordered.push_back(std::move(result.rows[row]));
  result.rows = std::move(ordered);
  return result;
}

std::string format_table(const SweepResult& r) {
  // Columns: the final metrics every trial shares, test split first (valid when there is no test).
  std::vector<std::string> metrics;
  for (const auto& row : r.rows)
    for (const auto& [name, _] : row.final)
      if (std::find(metrics.begin(), metrics.end(), name) == metrics.end()) metrics.push_back(name);
  const bool has_test =
      std::any_of(metrics.begin(), metrics.end(), [](const std::string& m) { return m.starts_with("test/"); });
  std::erase_if(metrics,
                [&](const std::string& m) { return has_test ? !m.starts_with("test/") : !m.starts_with("valid/"); });
  std::string out = fmt::format("{:<12}  {:<8}", "trial", "status");
  std::vector<std::size_t> widths;
  for (const auto& m : metrics) {
    widths.push_back(std::max<std::size_t>(m.size(), 8));
    out += fmt::format("  {:>{}}", m, widths.back());
  }
  out += "  swept\n";
  for (const auto& row : r.rows) {
    out += fmt::format("{:<12}  {:<8}", row.id, row.status);
    for (std::size_t c = 0; c < metrics.size(); ++c) {
      const auto it =
          std::find_if(row.final.begin(), row.final.end(), [&](const auto& p) { return p.first == metrics[c]; });
      out += it == row.final.end() ? fmt::format("  {:>{}}", "-", widths[c])
                                   : fmt::format("  {:>{}.4f}", it->second, widths[c]);
    }
    out += "  " + row.label + "\n";
  }
  return out;
}

std::vector<RehearsalFailure> rehearse(const ResolvedSpec& spec,
                                       const std::function<void(std::size_t, std::size_t)>& on_trial,
                                       std::vector<std::string>* warnings) {
  const std::vector<ResolvedTrial>& trials = spec.trials;
  std::error_code ec;
  const fs::path dir = fs::temp_directory_path() / fmt::format("attnlab-rehearsal-{}-{}", ::getpid(), spec.hash);
  fs::create_directories(dir);
  std::vector<RehearsalFailure> failures;
  std::set<std::string> seen;
  for (const ResolvedTrial& rt : trials) {
    const Trial& t = rt.trial;
    if (on_trial) on_trial(t.index, trials.size());
    if (!seen.insert(t.id).second) continue;  // an equal config was rehearsed already
    TrialPlan plan;
    plan.id = t.id;
    plan.spec = rt.spec;
    plan.out_dir = dir.string();
    plan.threads = 1;
    plan.rehearsal = true;
    TrialOutcome out;
    tbb::task_arena arena(1);
    arena.execute([&] { out = run_trial(plan); });
    if (out.status != TrialOutcome::Status::kDone) failures.push_back({t.index, t.label(), out.message});
    // A tuning objective must be a figure this model computes on its data (the task names, and
    // which metrics apply to which label kind, come with the data: the spec alone cannot tell).
    if (out.status == TrialOutcome::Status::kDone && spec.tune)
      for (const auto& goal : spec.tune->objective.list)
        if (goal.metric && !out.final.contains(*goal.metric)) {
          std::vector<std::string> figures;
          for (const auto& [name, value] : out.final)
            if (name.starts_with("valid/")) figures.push_back(name);
          failures.push_back({t.index, t.label(),
                              fmt::format("tune.objective: this model computes no {} on its data; it computes {}",
                                          *goal.metric, fmt::join(figures, ", "))});
        }
    if (warnings)
      for (const auto& w : out.warnings)
        if (std::find(warnings->begin(), warnings->end(), w) == warnings->end()) warnings->push_back(w);
  }
  fs::remove_all(dir, ec);
  return failures;
}

}  // namespace attnlab::experiment
