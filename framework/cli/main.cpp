// The attnlab command line.
//
// Exit codes: 0 success; 1 a run failed (or a trial did); 2 a usage or configuration error (nothing
// was run).
#include "framework/config/value.h"
#include "framework/core/error.h"
#include "framework/core/memory.h"
#include "framework/core/suggest.h"
#include "framework/eval/metrics.h"
#include "framework/experiment/mpi.h"
#include "framework/experiment/runner.h"
#include "framework/experiment/seed_demo.h"
#include "framework/experiment/spec.h"
#include "framework/experiment/sweep.h"
#include "framework/experiment/tune.h"
#include "framework/experiment/watch.h"
#include "framework/onednn/onednn.h"
#include "framework/registry/loader.h"
#include "framework/registry/registry.h"
#include "framework/store/durable.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <sys/ioctl.h>
#include <unistd.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <thread>

namespace {

using namespace attnlab;

constexpr int kOk = 0, kRunFailed = 1, kUsage = 2;

struct SpecArgs {
  std::string spec;
  std::vector<std::string> overrides;
  experiment::PluginTrust trust;
};

void add_spec_args(CLI::App* cmd, SpecArgs& a) {
  cmd->add_option("spec", a.spec, "experiment spec (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", a.overrides,
                  "overrides in Hydra's grammar: key.path=value, +new.key=value, ~removed.key, list.key=[1,2]");
  cmd->add_option("--plugin", a.trust.libraries,
                  "shared library of out-of-tree plugins to load (repeatable); trusted, and so is the same library "
                  "named by the spec");
  cmd->add_flag("--allow-spec-plugins", a.trust.allow_spec_plugins,
                "load the plugin libraries the spec (or a spec it includes) names even when they lie outside the "
                "spec's directory and the working directory (loading a library runs its code)");
}

experiment::ResolvedSpec load(const SpecArgs& a) {
  return experiment::load_experiment(a.spec, a.overrides, experiment::Multirun::allow, a.trust);
}

// The plugin libraries a spec loads, one line each: canonical path, where it is named, why it is trusted.
void print_libraries(const experiment::ResolvedSpec& r, std::string_view prefix) {
  for (const auto& lib : r.libraries) fmt::print("{}plugin library {}\n", prefix, lib.str());
}

std::string bounds(const config::FieldInfo& f) {
  if (f.min && f.max) return fmt::format("[{}, {}]", config::format_number(*f.min), config::format_number(*f.max));
  if (f.min) return fmt::format(">= {}", config::format_number(*f.min));
  if (f.max) return fmt::format("<= {}", config::format_number(*f.max));
  return "";
}

void print_fields(const config::Schema& fields, int indent) {
  for (const auto& f : fields) {
    std::string extra = bounds(f);
    if (!f.choices.empty()) extra += fmt::format("{}one of {}", extra.empty() ? "" : "; ", fmt::join(f.choices, ", "));
    const std::string def = f.required                ? "required"
                            : f.default_value.empty() ? (f.optional ? "absent" : "")
                                                      : "= " + f.default_value;
    fmt::print("{:{}}{:<16} {:<18} {:<14} {}{}\n", "", indent, f.name, f.type, def, f.doc,
               extra.empty() ? "" : fmt::format(" ({})", extra));
    if (!f.fields.empty()) print_fields(f.fields, indent + 2);
  }
}

// A plugin's expected input (registry.h: Config::kFormat) under a "format:" heading, every line indented.
void print_format(const std::string& format) {
  if (format.empty()) return;
  fmt::print("\n  format:\n");
  for (std::size_t from = 0; from < format.size();) {
    const auto to = std::min(format.find('\n', from), format.size());
    fmt::print("    {}\n", std::string_view(format).substr(from, to - from));
    from = to + 1;
  }
}

// `attnlab watch DIR`: the table of experiment/watch.h, redrawn in place on a terminal until no trial
// runs or waits (Ctrl-C leaves); printed once off a terminal or with --once.
int cmd_watch(const std::string& dir, bool once, double interval) {
  const bool tty = isatty(STDOUT_FILENO) != 0;
  std::size_t drawn = 0;
  while (true) {
    const auto rows = experiment::read_watch(dir);
    winsize ws{};
    const std::size_t width = tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 40 ? ws.ws_col : 200;
    const std::string table = experiment::render_watch(rows, width);
    if (tty)
      for (std::size_t i = 0; i < drawn; ++i) std::fputs("\x1b[1A\x1b[2K", stdout);
    std::fputs(table.c_str(), stdout);
    std::fflush(stdout);
    drawn = static_cast<std::size_t>(std::count(table.begin(), table.end(), '\n'));
    const bool active = std::any_of(rows.begin(), rows.end(),
                                    [](const auto& r) { return r.status == "running" || r.status == "waiting"; });
    if (once || !tty || !active) return kOk;
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
  }
}

// `attnlab plugins metric`: the metric table (eval/metrics.h), the one place metrics are defined.
int cmd_metrics() {
  fmt::print("metric (eval.metrics; ranked metrics are reported per cutoff in eval.ks, as hr@10)\n");
  for (const auto& m : eval::metric_table())
    fmt::print("  {:<16} {:<7} {:<6} {}{}\n", m.name, data::name_of(m.kind), m.lower_is_better ? "lower" : "higher",
               m.summary, m.ranked ? " [@k]" : "");
  return kOk;
}

int cmd_plugins(const std::string& which, const std::vector<std::string>& libs) {
  if (which == "metric") return cmd_metrics();
  for (const auto& lib : libs) registry::load_plugin_library(lib);
  const std::string family = which.substr(0, which.find('/'));
  const std::string name = which.find('/') == std::string::npos ? "" : which.substr(which.find('/') + 1);
  bool found_family = family.empty();
  std::vector<std::string> family_names;
  for (const auto& fam : registry::families()) {
    family_names.push_back(fam.name);
    if (!family.empty() && fam.name != family) continue;
    found_family = true;
    const auto entries = fam.entries();
    if (name.empty() && family.empty()) {
      fmt::print("{}{}\n", fam.name, entries.empty() ? " (none registered yet)" : "");
      for (const auto& e : entries) fmt::print("  {:<16} {}\n", e.name, e.summary);
      continue;
    }
    if (name.empty()) {  // one family: every plugin with its parameters
      if (entries.empty()) fmt::print("{}: none registered yet\n", fam.name);
      for (const auto& e : entries) {
        fmt::print("{}/{}: {}\n", fam.name, e.name, e.summary);
        if (e.schema.empty())
          fmt::print("  (no parameters)\n");
        else
          print_fields(e.schema, 2);
        print_format(e.format);
        fmt::print("\n");
      }
      continue;
    }
    for (const auto& e : entries) {
      if (e.name != name) continue;
      fmt::print("{}/{}: {}\n  defined in {}\n\n", fam.name, e.name, e.summary, e.origin);
      if (e.schema.empty())
        fmt::print("  (no parameters)\n");
      else
        print_fields(e.schema, 2);
      print_format(e.format);
      return kOk;
    }
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.name);
    const auto hint = core::nearest(name, names);
    fmt::print(stderr, "attnlab: no {} plugin '{}'{}; registered: {}\n", fam.name, name,
               hint ? fmt::format(" (did you mean '{}'?)", *hint) : "", core::join_names(names));
    return kUsage;
  }
  if (family.empty())
    fmt::print(
        "\n`attnlab plugins <family>` shows every plugin of a family with its parameters; `attnlab plugins metric` "
        "the metrics.\n");
  if (!found_family) {
    fmt::print(stderr, "attnlab: no plugin family '{}'; families: {}\n", family, fmt::join(family_names, ", "));
    return kUsage;
  }
  return kOk;
}

// `attnlab tune SPEC`: the spec and its tune: block are checked here (like every command), the plan is
// written into the tuning directory, and this process becomes the Python driver (experiment/tune.h).
// The plan goes to a file of this process's own (.tune.yaml.<host>.<pid>): the driver installs it as
// tune.yaml once it has checked that it may join the study there (several drivers may share one).
int cmd_tune(const SpecArgs& a, int jobs, int threads, const std::string& out) {
  // Under mpirun the ranks would exec Python after MPI_Init (mpirun takes that for a dead rank) and
  // fork `attnlab run` children that inherit the rank's MPI environment; drivers on one directory
  // share the study without MPI.
  if (experiment::mpi::active())
    throw Error(
        "tune does not run under mpirun: start one `attnlab tune` per machine (same spec, same --out on a shared "
        "filesystem); they share the study (docs/tune.md)");
  const auto r = load(a);
  if (!r.tune) throw Error(fmt::format("{}: the spec has no tune: block (docs/tune.md)", a.spec));
  const auto [j, t] = experiment::choose_parallelism(
      jobs, threads, static_cast<int>(std::thread::hardware_concurrency()), static_cast<std::size_t>(r.tune->n_trials));
  experiment::TuneOptions o;
  o.spec = a.spec;
  // Overrides of the tune: block (tune.n_trials=30) act here; the trials run without it (~tune), where
  // they would bring back a tune: block holding only what they set.
  for (const auto& ov : a.overrides)
    if (config::parse_override(ov).path.front() != "tune") o.overrides.push_back(ov);
  for (const auto& lib : a.trust.libraries) {  // absolute: the trials need not share this working directory
    o.run_flags.push_back("--plugin");
    o.run_flags.push_back(std::filesystem::absolute(lib).lexically_normal().string());
  }
  if (a.trust.allow_spec_plugins) o.run_flags.push_back("--allow-spec-plugins");
  o.attnlab = std::filesystem::read_symlink("/proc/self/exe").string();
  o.dir = out.empty() ? experiment::results_dir(r).string() : out;
  o.jobs = j;
  o.threads = t;
  const std::string plan = experiment::tune_plan(r, o);
  std::filesystem::create_directories(o.dir);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::filesystem::path plan_path =
      std::filesystem::path(o.dir) / fmt::format(".tune.yaml.{}.{}", host, getpid());
  store::write_durably(plan_path, [&](const std::filesystem::path& temp) {
    std::ofstream f(temp);
    f << plan;
    f.close();
    if (!f) throw Error("cannot write " + temp.string());
  });
  const char* python = std::getenv("ATTNLAB_PYTHON");
  const char* driver = std::getenv("ATTNLAB_TUNE_DRIVER");
  const std::string py = python && *python ? python : ATTNLAB_PYTHON_EXE;
  const std::string drv = driver && *driver ? driver : std::string(ATTNLAB_SCRIPTS_DIR) + "/tune";
  const std::string plan_arg = plan_path.string();
  std::fflush(stdout);
  std::fflush(stderr);
  execlp(py.c_str(), py.c_str(), drv.c_str(), plan_arg.c_str(), static_cast<char*>(nullptr));
  const int exec_errno = errno;
  std::error_code ignored;
  std::filesystem::remove(plan_path, ignored);
  throw Error(fmt::format("cannot start the tuning driver {} {}: {} (ATTNLAB_PYTHON, ATTNLAB_TUNE_DRIVER)", py, drv,
                          std::strerror(exec_errno)));
}

}  // namespace

int run_main(int argc, char** argv) {
  CLI::App app{"attnlab: experiments with attention-based personalized models"};
  app.footer("Exit codes: 0 success, 1 a run failed, 2 usage or configuration error (nothing was run).");
  app.set_version_flag("--version", [] {
    const auto* v = dnnl::version();
    return fmt::format("attnlab {} (oneDNN {}.{}.{}{})", ATTNLAB_VERSION, v->major, v->minor, v->patch,
                       experiment::mpi::built() ? ", MPI" : "");
  });
  app.require_subcommand(0, 1);

  SpecArgs run_args, sweep_args, validate_args, show_args;
  auto* run = app.add_subcommand("run", "Run one experiment spec (without its sweep)");
  add_spec_args(run, run_args);
  auto* sweep = app.add_subcommand("sweep", "Run every trial of a spec's sweep");
  add_spec_args(sweep, sweep_args);
  bool dry_run = false;
  experiment::SweepOptions sweep_opts, run_opts;
  std::string shard;
  sweep->add_flag("--dry-run", dry_run, "list the trials (index, id, overrides) and run nothing");
  for (auto [cmd, o] : {std::pair{sweep, &sweep_opts}, std::pair{run, &run_opts}}) {
    cmd->add_option("--threads", o->threads, "threads per trial (default: cores / jobs)")->check(CLI::Range(1, 1024));
    cmd->add_option("--out", o->out_dir, "the sweep directory (default: <log.dir>/<name>)");
    cmd->add_flag("--force", o->force, "run into a sweep directory made by a different spec");
    cmd->add_flag("--quiet", o->quiet,
                  "no progress display and no results table (a failed trial still prints its error)");
    cmd->add_flag("--no-table", o->no_table,
                  "no results table at the end (scripts/summarize makes the ablation table)");
  }
  sweep->add_option("--jobs", sweep_opts.jobs, "trials run at once (default: cores / threads)")
      ->check(CLI::Range(1, 1024));
  sweep->add_flag("--fail-fast", sweep_opts.fail_fast, "stop at the first failed trial");
  sweep->add_option("--shard", shard, "i/N: run only the trials whose index is i mod N (job arrays)");
  auto* validate = app.add_subcommand(
      "validate",
      "Check a spec (includes, overrides, plugins, sweep) and report every problem, then rehearse every trial on its "
      "data "
      "(data prepared, model built, one training step, one evaluation batch per split): ok means every trial can run");
  add_spec_args(validate, validate_args);
  bool spec_only = false;
  validate->add_flag("--spec-only", spec_only,
                     "check the spec alone, without reading the data or rehearsing the trials");
  SpecArgs tune_args;
  int tune_jobs = 0, tune_threads = 0;
  std::string tune_out;
  auto* tune = app.add_subcommand(
      "tune",
      "Search the spec's tune: block with Optuna (scripts/tune): trials in parallel, each an ordinary run, hopeless "
      "ones pruned after an epoch; a killed run resumes (docs/tune.md)");
  add_spec_args(tune, tune_args);
  tune->add_option("--jobs", tune_jobs, "trials run at once (default: cores / threads)")->check(CLI::Range(1, 1024));
  tune->add_option("--threads", tune_threads, "threads per trial (default: cores / jobs)")->check(CLI::Range(1, 1024));
  tune->add_option("--out", tune_out, "the tuning directory (default: <log.dir>/<name>)");
  auto* show = app.add_subcommand("show", "Print the fully resolved config and its hash");
  add_spec_args(show, show_args);
  std::string which;
  std::vector<std::string> plugin_libs;
  auto* plugins = app.add_subcommand("plugins", "List plugin families and plugins, or one plugin's parameters");
  plugins->add_option("which", which, "a family (attention) or a plugin (attention/seed_self)");
  plugins->add_option("--plugin", plugin_libs, "shared library of out-of-tree plugins to load (repeatable)");

  std::string watch_dir;
  bool watch_once = false;
  double watch_interval = 2.0;
  auto* watch =
      app.add_subcommand("watch",
                         "Follow a sweep directory while it runs (or after): per trial its status, epoch, best "
                         "selected figure and a sparkline of it per epoch");
  watch->add_option("dir", watch_dir, "the sweep directory (<log.dir>/<name> or --out)")
      ->required()
      ->check(CLI::ExistingDirectory);
  watch->add_flag("--once", watch_once, "print the table once and exit (the default off a terminal)");
  watch->add_option("--interval", watch_interval, "seconds between refreshes on a terminal")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));

  experiment::DemoOptions demo;
  auto* d = app.add_subcommand("demo",
                               "Run the seed preset (the founding article's model) on a generated marker task through "
                               "the real pipeline and print its loss per epoch");
  d->add_option("--vocab", demo.vocab, "vocabulary size")->capture_default_str()->check(CLI::Range(3, 1000000));
  d->add_option("--embedding", demo.embedding, "embedding width")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--hidden", demo.hidden, "LSTM width")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--seq-len", demo.seq_len, "sequence length")->capture_default_str()->check(CLI::Range(2, 100000));
  d->add_option("--classes", demo.classes, "number of classes")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--train", demo.train, "training sequences")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--valid", demo.valid, "validation sequences")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--epochs", demo.epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--batch", demo.batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--lr", demo.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  d->add_option("--threads", demo.threads, "oneDNN (OpenMP) threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  d->add_option("--seed", demo.seed, "random seed (data, initialisation, shuffling)")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }

  try {
    if (validate->parsed()) {
      const auto r = load(validate_args);
      const std::size_t trials = r.trials.size();
      if (!spec_only) {
        const bool tty = isatty(STDERR_FILENO) != 0;
        std::vector<std::string> warnings;
        const auto failures = experiment::rehearse(
            r,
            [&](std::size_t i, std::size_t n) {
              if (tty) fmt::print(stderr, "\rrehearsing trial {}/{} ", i + 1, n);
            },
            &warnings);
        if (tty) fmt::print(stderr, "\r\033[K");
        for (const auto& w : warnings) fmt::print(stderr, "{}: warning: {}\n", validate_args.spec, w);
        if (!failures.empty()) {
          fmt::print(stderr, "{}: the spec is well-formed, but {} of {} trial{} cannot run on the data:\n",
                     validate_args.spec, failures.size(), trials, trials == 1 ? "" : "s");
          for (const auto& f : failures)
            fmt::print(stderr, "  trial {}{}: {}\n", f.index, f.label.empty() ? "" : " (" + f.label + ")", f.message);
          return kUsage;
        }
      }
      fmt::print("{}: ok ({}, config hash {}, {} trial{}{})\n", validate_args.spec, r.spec.name, r.hash, trials,
                 trials == 1 ? "" : "s",
                 spec_only ? "; spec only, not rehearsed on the data" : ", each rehearsed on its data");
      print_libraries(r, "  ");
      return kOk;
    }
    if (show->parsed()) {
      const auto r = load(show_args);
      fmt::print("# {} resolved; config hash {}\n", show_args.spec, r.hash);
      print_libraries(r, "# ");
      fmt::print("{}", config::to_yaml(r.resolved));
      // Nested under their key, so that the output is one YAML document.
      const auto section = [](std::string_view key, const config::Value& v) {
        std::string text = config::to_yaml(v), out = fmt::format("{}:\n", key);
        for (std::size_t from = 0; from < text.size();) {
          const std::size_t to = std::min(text.find('\n', from), text.size());
          out += fmt::format("  {}\n", std::string_view(text).substr(from, to - from));
          from = to + 1;
        }
        fmt::print("{}", out);
      };
      if (const config::Value* s = r.raw.find("sweep")) section("sweep", *s);
      if (r.tune) section("tune", config::to_value(*r.tune));
      return kOk;
    }
    if (sweep->parsed() && dry_run) {
      const auto r = load(sweep_args);
      fmt::print("{} trial{} of {}\n", r.trials.size(), r.trials.size() == 1 ? "" : "s", sweep_args.spec);
      print_libraries(r, "  ");
      for (const auto& rt : r.trials) fmt::print("{:4d}  {}  {}\n", rt.trial.index, rt.trial.id, rt.trial.label());
      return kOk;
    }
    if (sweep->parsed() || run->parsed()) {
      const bool is_run = run->parsed();
      experiment::SweepOptions o = is_run ? run_opts : sweep_opts;
      const SpecArgs& a = is_run ? run_args : sweep_args;
      o.spec = a.spec;
      o.plugins = a.trust;
      o.overrides = a.overrides;
      o.single = is_run;
      if (!shard.empty()) {
        const auto slash = shard.find('/');
        try {
          if (slash == std::string::npos) throw std::invalid_argument(shard);
          o.shard = std::stoi(shard.substr(0, slash));
          o.shards = std::stoi(shard.substr(slash + 1));
        } catch (const std::exception&) {
          fmt::print(stderr, "attnlab: --shard takes i/N (e.g. 0/4), got '{}'\n", shard);
          return kUsage;
        }
      }
      if (experiment::mpi::active() && experiment::mpi::rank() != 0) o.quiet = true;  // rank 0 speaks for all
      const auto result = experiment::run_sweep(o);
      if (!o.quiet) {
        if (!o.no_table) fmt::print("{}", experiment::format_table(result));
        fmt::print("{} done, {} failed, {} finished earlier{}{}; results in {}\n", result.done, result.failed,
                   result.skipped,
                   result.stopped ? fmt::format(", {} interrupted (run again to resume)", result.stopped) : "",
                   result.not_run ? fmt::format(", {} not run", result.not_run) : "", result.dir);
      }
      std::fflush(stdout);
      if (!result.halted_by.empty() && result.not_run > 0)
        fmt::print(stderr,
                   "attnlab: {}; the sweep stopped starting trials ({} not run)\n"
                   "  finished trials are kept: once this is fixed, the same command runs the rest\n",
                   result.halted_by, result.not_run);
      else if (!result.halted_by.empty())
        fmt::print(stderr,
                   "attnlab: {}\n  finished trials are kept: once this is fixed, the same command runs the failed "
                   "ones again\n",
                   result.halted_by);
      for (const auto& line : result.lost)
        fmt::print(stderr, "attnlab: {}; the ledger marks it interrupted: run the same command again to finish it\n",
                   line);
      return result.failed > 0 || result.stopped > 0 || !result.halted_by.empty() || !result.lost.empty() ? kRunFailed
                                                                                                          : kOk;
    }
    if (tune->parsed()) return cmd_tune(tune_args, tune_jobs, tune_threads, tune_out);
    if (plugins->parsed()) return cmd_plugins(which, plugin_libs);
    if (watch->parsed()) return cmd_watch(watch_dir, watch_once, watch_interval);
    if (d->parsed()) {
      const auto stats = experiment::run_seed_demo(demo);
      const double first = stats.front().train_loss, last = stats.back().train_loss;
      fmt::print("train loss fell from {:.4f} to {:.4f}; final valid accuracy {:.3f}\n", first, last,
                 stats.back().valid_accuracy);
      return last < first ? kOk : kRunFailed;
    }
    fmt::print("{}", app.help());
    return kOk;
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    fmt::print(stderr, "attnlab: {} problem{} in the spec; nothing was run\n", e.problems().size(),
               e.problems().size() == 1 ? "" : "s");
    return kUsage;
  } catch (const Error& e) {
    fmt::print(stderr, "attnlab: error: {}\n", e.what());
    return kUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attnlab: internal error: {}\n", e.what());
    return kRunFailed;
  }
}

int main(int argc, char** argv) {
  onednn::choose_wait_policy(argc, argv);  // may re-execute this program, so before anything else
  core::flush_denormals();                 // inherited by every thread created from here on (core/memory.h)
  try {
    experiment::mpi::init(&argc, &argv);
  } catch (const Error& e) {
    fmt::print(stderr, "attnlab: error: {}\n", e.what());
    return kUsage;
  }
  const int code = run_main(argc, argv);
  experiment::mpi::finalize(code);
  return code;
}
