#include "framework/experiment/seed_demo.h"

#include "attnlab/seed_preset.h"
#include "framework/core/error.h"
#include "framework/experiment/runner.h"
#include "framework/store/trial.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace attnlab::experiment {

std::vector<std::string> demo_overrides(const DemoOptions& o) {
  // ++: set or add, whatever the preset spells out.
  return {fmt::format(
              "++data.dataset={{type: marker, train: {}, valid: {}, test: {}, seq_len: {}, vocab: {}, classes: {}}}",
              o.train, o.valid, o.valid, o.seq_len, o.vocab, o.classes),
          "++data.task=label",
          fmt::format("++model.embedding={}", o.embedding),
          fmt::format("++model.extractor.hidden={}", o.hidden),
          fmt::format("++train.epochs={}", o.epochs),
          fmt::format("++train.batch_size={}", o.batch),
          fmt::format("++train.optimizer.lr={}", o.lr),
          fmt::format("++train.seed={}", o.seed),
          "++eval.metrics=[accuracy, logloss]",
          "++log.checkpoint=false",
          "++log.probes=0"};
}

std::vector<EpochStats> run_seed_demo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("attnlab-demo-{}", ::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  std::ofstream(dir / "seed.yaml") << kSeedPreset;

  SweepOptions run;
  run.spec = (dir / "seed.yaml").string();
  run.overrides = demo_overrides(o);
  run.single = true;
  run.threads = o.threads;
  run.out_dir = (dir / "results").string();
  run.quiet = true;
  const SweepResult result = run_sweep(run);
  if (result.rows.size() != 1 || result.rows.front().status != "done")
    throw Error("demo: the trial failed: " +
                (result.rows.empty() ? std::string("no trial ran") : result.rows.front().message));

  const store::TrialReader r(store::trial_path(result.dir, result.rows.front().id));
  const auto train_loss = r.curve("train", "loss"), valid_loss = r.curve("valid", "logloss"),
             valid_acc = r.curve("valid", "accuracy");
  const auto seconds = r.timing().epoch_seconds;
  std::vector<EpochStats> stats;
  for (std::size_t e = 0; e < train_loss.size(); ++e) {
    stats.push_back({train_loss[e], valid_loss.at(e), valid_acc.at(e), seconds.at(e)});
    if (!o.quiet)
      fmt::print("epoch {:2d}  train loss {:.4f}  valid loss {:.4f}  valid accuracy {:.3f}  ({:.1f} s)\n", e + 1,
                 stats.back().train_loss, stats.back().valid_loss, stats.back().valid_accuracy, stats.back().seconds);
  }
  return stats;
}

}  // namespace attnlab::experiment
