// Trials run in parallel threads: four threads writing four trial files (and checkpoints, and one
// ledger) at once all complete and read back exactly.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "framework/store/checkpoint.h"
#include "framework/store/ledger.h"
#include "framework/store/trial.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

constexpr int kEpochs = 30;

// Trial t's value for epoch e: distinct per trial and epoch, exact in binary.
double value(int t, int e) { return t * 1000.0 + e * 0.5; }

}  // namespace

BOOST_AUTO_TEST_SUITE(store_concurrency)

BOOST_AUTO_TEST_CASE(four_threads_write_four_trials_at_once) {
  TempDir dir("threads");
  Ledger ledger(dir.path / "ledger.tsv");
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        const std::string id = fmt::format("trial{}", t);
        ledger.append(id, TrialState::running);
        TrialWriter w(dir.path, id);
        w.write_config(fmt::format("seed: {}\n", t), id);
        for (int e = 1; e <= kEpochs; ++e) {
          w.append_curve("train", "loss", e, value(t, e));
          w.append_curve("valid", "accuracy", e, -value(t, e));
          w.append_epoch_time(e, 0.25 * e, 100.0 * t);
          w.write_attention("layer0", e, core::Tensor::full(core::Shape{8, 16}, static_cast<float>(value(t, e))));
          w.flush();
          if (e % 10 == 0) {
            Checkpoint c;
            c.epoch = e;
            c.params["w"] = core::Tensor::full(core::Shape{32, 32}, static_cast<float>(t));
            c.arrays = w.series();
            save_checkpoint(checkpoint_path(dir.path, id), c);
          }
        }
        w.write_final("test", "accuracy", value(t, 0));
        w.finish_done();
        ledger.append(id, TrialState::done);
      } catch (const std::exception& ex) {
        errors[static_cast<std::size_t>(t)] = ex.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) BOOST_TEST(errors[static_cast<std::size_t>(t)] == "", "thread " << t);

  const LedgerContents l = read_ledger(dir.path / "ledger.tsv");
  BOOST_TEST(l.entries.size() == 8u);
  for (int t = 0; t < 4; ++t) {
    const std::string id = fmt::format("trial{}", t);
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST((l.last.at(id).state == TrialState::done));
      const TrialReader r(trial_path(dir.path, id));
      BOOST_TEST((r.state() == TrialState::done));
      BOOST_TEST(r.config_yaml() == fmt::format("seed: {}\n", t));
      const auto loss = r.curve("train", "loss"), acc = r.curve("valid", "accuracy");
      BOOST_TEST_REQUIRE(loss.size() == std::size_t{kEpochs});
      BOOST_TEST_REQUIRE(acc.size() == std::size_t{kEpochs});
      for (int e = 1; e <= kEpochs; ++e) {
        BOOST_TEST(loss[static_cast<std::size_t>(e - 1)] == value(t, e));
        BOOST_TEST(acc[static_cast<std::size_t>(e - 1)] == -value(t, e));
      }
      BOOST_TEST(r.attention_epochs("layer0").size() == std::size_t{kEpochs});
      BOOST_TEST(r.attention("layer0", 17).to_vector()[5] == static_cast<float>(value(t, 17)));
      BOOST_TEST(r.final_value("test", "accuracy").value() == value(t, 0));
      const Checkpoint c = load_checkpoint(checkpoint_path(dir.path, id));
      BOOST_TEST(checkpoint_path(dir.path, id).filename() == id + ".ckpt.h5");
      BOOST_TEST(c.epoch == kEpochs);
      BOOST_TEST(c.params.at("w").to_vector()[100] == static_cast<float>(t));
      BOOST_TEST(c.arrays.at("curves/train/loss").size() == std::size_t{kEpochs});
      BOOST_TEST(!fs::exists(trial_temp_path(dir.path, id)));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
