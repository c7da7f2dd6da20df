// Trial files: everything written reads back exactly; unfinished, truncated and foreign files are
// never mistaken for results.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "framework/store/trial.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Element-wise equality where NaN equals NaN.
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

std::string show(const std::vector<double>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

/// Copies the first `bytes` bytes of `from` to `to`.
void copy_prefix(const fs::path& from, const fs::path& to, std::uintmax_t bytes) {
  std::ifstream in(from, std::ios::binary);
  std::vector<char> buf(bytes);
  in.read(buf.data(), static_cast<std::streamsize>(bytes));
  std::ofstream(to, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(bytes));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trial_file)

BOOST_AUTO_TEST_CASE(everything_written_reads_back) {
  TempDir dir("roundtrip");
  const std::string yaml = "model:\n  attention: {type: seed_self}\ntrain: {epochs: 3, lr: 0.001}\n";
  const std::map<std::string, std::string> env = {
      {"attnlab_version", "0.1.0"}, {"cpu_model", "AMD EPYC ✓"}, {"host", "node-7"}, {"seed", "3"}, {"threads", "2"}};
  DataRecord data;
  data.protocol = "random 0.8/0.1/0.1 seed 3";
  data.split_sizes = {{"train", 800}, {"valid", 100}, {"test", 100}};
  data.report = {"drop_missing: 12 rows dropped", "kcore: k=5, 3 passes", ""};
  data.fitted = {{"standardize", {{"mean", {1.5, -2.0}}, {"std", {0.5, 4.0}}}}, {"pad_truncate", {{"max_len", {50}}}}};
  data.tokens = {"<pad>", "<oov>", "free", "déjà vu", ""};
  data.labels = {{"spam", {"ham", "spam"}, {{"train", {700, 100}}, {"test", {80, 20}}}}};
  const core::Tensor ids = core::Tensor::from_i64(std::vector<std::int64_t>{3, 4, 0, 7, 8, 9}, core::Shape{2, 3});
  const core::Tensor mask = core::Tensor::from(std::vector<float>{1, 1, 0, 1, 1, 1}, core::Shape{2, 3});
  const core::Tensor w1 = core::Tensor::from(std::vector<float>{0.5f, 0.5f, 0, 0.25f, 0.25f, 0.5f}, core::Shape{2, 3});
  const core::Tensor w3 = core::Tensor::from(std::vector<float>{0.75f, 0.25f, 0, 0, 0, 1}, core::Shape{2, 3});
  {
    TrialWriter w(dir.path, "ab12cd34ef56");
    BOOST_TEST(fs::exists(dir.path / "ab12cd34ef56.h5.tmp"));
    w.write_config(yaml, "ab12cd34ef56aaaa");
    w.write_env(env);
    w.write_data(data);
    w.write_attention_probe({{"ids", ids}, {"mask", mask}});
    for (std::int64_t e = 1; e <= 3; ++e) {
      w.append_curve("train", "loss", e, 1.0 / static_cast<double>(e));
      if (e != 2) w.append_curve("valid", "accuracy", e, 0.5 + 0.125 * static_cast<double>(e));  // skips epoch 2
      w.append_epoch_time(e, 10.0 + static_cast<double>(e), 1000.0 * static_cast<double>(e),
                          e == 1 ? 40.0 : 0.0);  // page faults per step: the first epoch fills the caches
      w.flush();
    }
    w.append_curve("valid", "auc", 3, 0.75);  // a curve that starts late
    w.write_attention("layer0", 1, w1);
    w.write_attention("layer0", 3, w3);
    w.write_final("valid", "accuracy", 0.875);
    w.write_final("test", "accuracy", 0.8125);
    w.write_final("test", "ndcg@10", 0.4375);
    w.write_timing({.total_seconds = 42.5,
                    .samples_per_second = 2345.0,
                    .peak_rss_bytes = 123456789,
                    .peak_rss_scope = "trial",
                    .peak_tensor_bytes = 4096,
                    .best_epoch = 2,
                    .epochs_run = 3});
    w.finish_done();
    BOOST_TEST(w.finished());
  }
  BOOST_TEST(!fs::exists(dir.path / "ab12cd34ef56.h5.tmp"));
  BOOST_TEST(fs::exists(dir.path / "ab12cd34ef56.h5"));

  const TrialReader r(trial_path(dir.path, "ab12cd34ef56"));
  BOOST_TEST(r.id() == "ab12cd34ef56");
  BOOST_TEST(r.format_version() == 1);
  BOOST_TEST((r.state() == TrialState::done));
  BOOST_TEST(r.message() == "");
  BOOST_TEST(r.failed_at() == "");
  BOOST_TEST(r.config_yaml() == yaml);
  BOOST_TEST(r.config_hash() == "ab12cd34ef56aaaa");
  BOOST_TEST((r.env() == env));

  const DataRecord d = r.data();
  BOOST_TEST(d.protocol == data.protocol);
  // Split sizes come back in name order.
  const std::vector<std::pair<std::string, std::int64_t>> sizes = {{"test", 100}, {"train", 800}, {"valid", 100}};
  BOOST_TEST((d.split_sizes == sizes));
  BOOST_TEST(d.report == data.report, boost::test_tools::per_element());
  BOOST_TEST(d.tokens == data.tokens, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(d.labels.size(), 1u);
  BOOST_TEST(d.labels[0].task == "spam");
  BOOST_TEST(d.labels[0].names == data.labels[0].names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(d.labels[0].splits.size(), 2u);  // in name order
  BOOST_TEST(d.labels[0].splits[0].first == "test");
  BOOST_TEST(d.labels[0].splits[0].second == (std::vector<std::int64_t>{80, 20}), boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(d.fitted.size() == 2u);
  BOOST_TEST(d.fitted[0].first == "pad_truncate");
  BOOST_TEST((d.fitted[0].second.at("max_len") == std::vector<double>{50}));
  BOOST_TEST(d.fitted[1].first == "standardize");
  BOOST_TEST((d.fitted[1].second.at("mean") == std::vector<double>{1.5, -2.0}));
  BOOST_TEST((d.fitted[1].second.at("std") == std::vector<double>{0.5, 4.0}));

  BOOST_TEST(r.epochs() == (std::vector<std::int64_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(same(r.curve("train", "loss"), {1.0, 0.5, 1.0 / 3.0}), show(r.curve("train", "loss")));
  BOOST_TEST(same(r.curve("valid", "accuracy"), {0.625, kNaN, 0.875}), show(r.curve("valid", "accuracy")));
  BOOST_TEST(same(r.curve("valid", "auc"), {kNaN, kNaN, 0.75}), show(r.curve("valid", "auc")));
  const std::map<std::string, std::vector<std::string>> names = {{"train", {"loss"}}, {"valid", {"accuracy", "auc"}}};
  BOOST_TEST((r.curve_names() == names));

  const auto finals = r.finals();
  BOOST_TEST(finals.at("valid").at("accuracy") == 0.875);
  BOOST_TEST(finals.at("test").at("accuracy") == 0.8125);
  BOOST_TEST(finals.at("test").at("ndcg@10") == 0.4375);
  BOOST_TEST(finals.size() == 2u);
  BOOST_TEST(r.final_value("test", "ndcg@10").value() == 0.4375);
  BOOST_TEST(!r.final_value("test", "mrr").has_value());
  BOOST_TEST(!r.final_value("a/b", "c").has_value());

  const Timing t = r.timing();
  BOOST_TEST(t.epochs == (std::vector<std::int64_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(same(t.epoch_seconds, {11, 12, 13}));
  BOOST_TEST(same(t.epoch_samples_per_second, {1000, 2000, 3000}));
  BOOST_TEST(t.total_seconds == 42.5);
  BOOST_TEST(t.samples_per_second == 2345.0);
  BOOST_TEST(t.peak_rss_bytes == 123456789);
  BOOST_TEST(t.peak_rss_scope == "trial");
  BOOST_TEST(t.peak_tensor_bytes == 4096);
  BOOST_TEST(t.best_epoch == 2);
  BOOST_TEST(t.epochs_run == 3);

  BOOST_TEST(r.attention_layers() == std::vector<std::string>{"layer0"}, boost::test_tools::per_element());
  BOOST_TEST(r.attention_epochs("layer0") == (std::vector<std::int64_t>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(r.attention("layer0", 3).to_vector() == w3.to_vector(), boost::test_tools::per_element());
  BOOST_TEST((r.attention("layer0", 1).shape() == core::Shape{2, 3}));
  const auto probe = r.attention_probe();
  BOOST_TEST(probe.at("ids").to_vector_i64() == ids.to_vector_i64(), boost::test_tools::per_element());
  BOOST_TEST((probe.at("ids").shape() == core::Shape{2, 3}));
  BOOST_TEST(probe.at("mask").to_vector() == mask.to_vector(), boost::test_tools::per_element());

  const Series s = r.series();
  BOOST_TEST(same(s.at("curves/epoch"), {1, 2, 3}));
  BOOST_TEST(same(s.at("curves/valid/accuracy"), {0.625, kNaN, 0.875}));
  BOOST_TEST(same(s.at("timing/epoch_seconds"), {11, 12, 13}));
  BOOST_TEST(same(s.at("timing/epoch_faults_per_step"), {40, 0, 0}));
  BOOST_TEST(same(r.timing().epoch_faults_per_step, {40, 0, 0}));
  BOOST_TEST(s.size() == 8u);

  BOOST_TEST((inspect_trial(dir.path, "ab12cd34ef56").kind == TrialFileStatus::Kind::done));
  BOOST_TEST((inspect_trial(dir.path, "other").kind == TrialFileStatus::Kind::missing));
}

BOOST_AUTO_TEST_CASE(epochs_never_go_back) {
  TempDir dir("order");
  TrialWriter w(dir.path, "t1");
  w.append_curve("train", "loss", 1, 0.9);
  w.append_curve("valid", "loss", 1, 1.1);
  w.append_curve("train", "loss", 2, 0.8);
  testing::expect_error<StoreError>([&] { w.append_curve("valid", "loss", 1, 1.0); },
                                    {"t1.h5.tmp:/curves/valid/loss:", "epoch 1 comes after epoch 2"});
  testing::expect_error<StoreError>([&] { w.append_curve("train", "loss", 2, 0.7); },
                                    {"/curves/train/loss:", "already has a value for epoch 2"});
  testing::expect_error<StoreError>([&] { w.append_curve("new", "metric", 1, 0.7); }, {"epoch 1 comes after epoch 2"});
  w.append_epoch_time(1, 5, 50);
  testing::expect_error<StoreError>([&] { w.append_epoch_time(1, 5, 50); }, {"/timing/epoch:", "epochs must increase"});
  // The failed calls changed nothing.
  w.append_curve("valid", "loss", 2, 1.0);
  w.finish_done();
  const TrialReader r(trial_path(dir.path, "t1"));
  BOOST_TEST(r.epochs() == (std::vector<std::int64_t>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(same(r.curve("train", "loss"), {0.9, 0.8}));
  BOOST_TEST(same(r.curve("valid", "loss"), {1.1, 1.0}));
  BOOST_TEST(r.curve_names().count("new") == 0u);
  BOOST_TEST(r.timing().epochs == std::vector<std::int64_t>{1}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(curves_appended_across_flushes_are_readable_mid_run) {
  TempDir dir("flush");
  TrialWriter w(dir.path, "t2");
  w.write_config("a: 1\n", "h");
  w.append_curve("train", "loss", 1, 0.5);
  w.flush();
  // A kill -9 now leaves the .tmp as it is: a copy of it stands for the killed run's file.
  fs::copy_file(w.temp_path(), dir.path / "killed_after_epoch1.h5");
  w.append_curve("train", "loss", 2, 0.25);
  w.append_curve("train", "acc", 2, 0.75);
  w.flush();
  fs::copy_file(w.temp_path(), dir.path / "killed_after_epoch2.h5");

  // Not done: only the .tmp exists, and what it holds says running.
  BOOST_TEST(!fs::exists(trial_path(dir.path, "t2")));
  BOOST_TEST((inspect_trial(dir.path, "t2").kind == TrialFileStatus::Kind::unfinished));
  const TrialReader r1(dir.path / "killed_after_epoch1.h5");
  BOOST_TEST((r1.state() == TrialState::running));
  BOOST_TEST(same(r1.curve("train", "loss"), {0.5}));
  const TrialReader r2(dir.path / "killed_after_epoch2.h5");
  BOOST_TEST((r2.state() == TrialState::running));
  BOOST_TEST(same(r2.curve("train", "loss"), {0.5, 0.25}));
  BOOST_TEST(same(r2.curve("train", "acc"), {kNaN, 0.75}));  // padded as soon as it starts late
  BOOST_TEST(r2.epochs() == (std::vector<std::int64_t>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(r2.config_yaml() == "a: 1\n");

  w.append_curve("train", "loss", 3, 0.125);
  w.finish_done();
  const TrialReader r(trial_path(dir.path, "t2"));
  BOOST_TEST(same(r.curve("train", "loss"), {0.5, 0.25, 0.125}));
  BOOST_TEST(same(r.curve("train", "acc"), {kNaN, 0.75, kNaN}));  // padded to the end at finish
}

BOOST_AUTO_TEST_CASE(an_abandoned_writer_leaves_only_the_tmp) {
  TempDir dir("abandon");
  {
    TrialWriter w(dir.path, "t3");
    w.append_curve("train", "loss", 1, 0.5);
  }  // destroyed without finish_*: as if the trial's thread died
  BOOST_TEST(fs::exists(trial_temp_path(dir.path, "t3")));
  BOOST_TEST(!fs::exists(trial_path(dir.path, "t3")));
  BOOST_TEST((inspect_trial(dir.path, "t3").kind == TrialFileStatus::Kind::unfinished));
  // A rerun replaces the stale .tmp.
  TrialWriter again(dir.path, "t3");
  again.finish_done();
  BOOST_TEST((inspect_trial(dir.path, "t3").kind == TrialFileStatus::Kind::done));
  BOOST_TEST(TrialReader(trial_path(dir.path, "t3")).epochs().empty());
}

BOOST_AUTO_TEST_CASE(a_failed_trial_is_kept_with_its_message) {
  TempDir dir("failed");
  {
    TrialWriter w(dir.path, "t4");
    w.append_curve("train", "loss", 1, 0.5);
    w.append_curve("train", "loss", 2, kNaN);
    w.finish_failed("loss is NaN\n(diverged)", "epoch 2 batch 17");
    testing::expect_error<StoreError>([&] { w.flush(); }, {"t4.h5.tmp", "finished and closed"});
    testing::expect_error<StoreError>([&] { w.finish_done(); }, {"finished and closed"});
  }
  const TrialReader r(trial_path(dir.path, "t4"));
  BOOST_TEST((r.state() == TrialState::failed));
  BOOST_TEST(r.message() == "loss is NaN\n(diverged)");
  BOOST_TEST(r.failed_at() == "epoch 2 batch 17");
  BOOST_TEST(same(r.curve("train", "loss"), {0.5, kNaN}));
  const TrialFileStatus s = inspect_trial(dir.path, "t4");
  BOOST_TEST((s.kind == TrialFileStatus::Kind::failed));
  BOOST_TEST(s.message == "loss is NaN\n(diverged)");
}

BOOST_AUTO_TEST_CASE(a_huge_failure_message_is_clipped) {
  TempDir dir("clip");
  // "x" then 50000 two-byte characters: byte 32768 (the limit) is the second byte of one.
  std::string msg = "x";
  for (int i = 0; i < 50000; ++i) msg += "ü";
  {
    TrialWriter w(dir.path, "t5");
    w.finish_failed(msg, "everywhere");
  }
  const std::string back = TrialReader(trial_path(dir.path, "t5")).message();
  // 32767 bytes kept (x + 16383 ü), 100001 - 32767 = 67234 cut.
  BOOST_TEST(back.size() == 32767u + std::string("... [67234 bytes cut]").size());
  BOOST_TEST(back.substr(32765) == "ü... [67234 bytes cut]");
}

BOOST_AUTO_TEST_CASE(truncated_files_are_errors_not_crashes) {
  TempDir dir("truncated");
  {
    TrialWriter w(dir.path, "t6");
    w.write_config("x: 1\n", "h");
    for (std::int64_t e = 1; e <= 20; ++e) w.append_curve("train", "loss", e, 1.0 / static_cast<double>(e));
    w.write_attention("l0", 1, core::Tensor::full(core::Shape{64, 64}, 0.25f));
    w.write_final("test", "accuracy", 0.5);
    w.finish_done();
  }
  const fs::path full = trial_path(dir.path, "t6");
  const auto size = fs::file_size(full);
  for (std::uintmax_t cut : {size / 2, size - 1, std::uintmax_t{100}, std::uintmax_t{0}}) {
    BOOST_TEST_CONTEXT("cut to " << cut << " of " << size << " bytes") {
      const fs::path part = dir.path / "cut.h5";
      fs::remove(part);
      copy_prefix(full, part, cut);
      const std::string msg = testing::error_of([&] {
        const TrialReader r(part);
        (void)r.finals();
        (void)r.curve("train", "loss");
        (void)r.attention("l0", 1);
      });
      BOOST_TEST(msg.find(part.string()) != std::string::npos, msg);
      BOOST_TEST_MESSAGE(msg);
    }
  }
  // In a sweep directory a damaged <id>.h5 is reported, not trusted.
  copy_prefix(full, dir.path / "t7.h5", size / 2);
  const TrialFileStatus s = inspect_trial(dir.path, "t7");
  BOOST_TEST((s.kind == TrialFileStatus::Kind::unreadable));
  BOOST_TEST(s.message.find("t7.h5") != std::string::npos, s.message);
}

BOOST_AUTO_TEST_CASE(foreign_files_are_not_trial_files) {
  TempDir dir("foreign");
  const fs::path other = dir.path / "other.h5";
  {
    h5::File f = h5::File::create(other);
    f.write("final/test/accuracy", std::vector<double>{0.9});
  }
  testing::expect_error<StoreError>([&] { TrialReader r(other); }, {other.string(), "not an attnlab trial file"});
  const fs::path wrong = dir.path / "wrong.h5";
  {
    h5::File f = h5::File::create(wrong);
    f.set_attr("format", "attnlab-checkpoint");
  }
  testing::expect_error<StoreError>([&] { TrialReader r(wrong); }, {"not an attnlab trial file"});
  const fs::path future = dir.path / "future.h5";
  {
    h5::File f = h5::File::create(future);
    f.set_attr("format", kTrialFormat);
    f.set_attr("format_version", 99);
  }
  testing::expect_error<StoreError>([&] { TrialReader r(future); }, {"format_version 99 is not supported"});
  const fs::path text = dir.path / "text.h5";
  std::ofstream(text) << "hello\n";
  testing::expect_error<StoreError>([&] { TrialReader r(text); }, {text.string(), "cannot open as HDF5"});
}

BOOST_AUTO_TEST_CASE(bad_names_and_repeated_writes_are_refused) {
  TempDir dir("names");
  testing::expect_error<StoreError>([&] { TrialWriter w(dir.path, "a/b"); }, {"invalid trial id name 'a/b'"});
  testing::expect_error<StoreError>([&] { TrialWriter w(dir.path / "missing_dir", "x"); },
                                    {"missing_dir", "cannot create"});
  TrialWriter w(dir.path, "t8");
  testing::expect_error<StoreError>([&] { w.append_curve("train/x", "loss", 1, 0); }, {"invalid split name 'train/x'"});
  testing::expect_error<StoreError>([&] { w.append_curve("train", "", 1, 0); }, {"invalid curve name ''"});
  testing::expect_error<StoreError>([&] { w.append_curve("..", "loss", 1, 0); }, {"invalid split name '..'"});
  testing::expect_error<StoreError>([&] { w.append_curve("epoch", "loss", 1, 0); }, {"'epoch' is reserved"});
  testing::expect_error<StoreError>([&] { w.write_attention("probe", 1, core::Tensor::scalar(1)); },
                                    {"'probe' is reserved"});
  testing::expect_error<StoreError>(
      [&] { w.write_attention("l0", 1, core::Tensor::from_i64(std::vector<std::int64_t>{1}, core::Shape{1})); },
      {"/attention/l0/epoch_1:", "f32"});
  w.write_attention("l0", 1, core::Tensor::scalar(1));
  testing::expect_error<StoreError>([&] { w.write_attention("l0", 1, core::Tensor::scalar(1)); },
                                    {"/attention/l0/epoch_1:", "already exists"});
  w.write_final("test", "acc", 1);
  testing::expect_error<StoreError>([&] { w.write_final("test", "acc", 1); }, {"/final/test/acc:", "already exists"});
  w.write_config("a", "b");
  testing::expect_error<StoreError>([&] { w.write_config("a", "b"); }, {"/config:", "already written"});
  testing::expect_error<StoreError>([&] { w.write_env({{"", "x"}}); }, {"/env:", "empty key"});
  DataRecord d;
  d.fitted = {{"s", {}}, {"s", {}}};
  testing::expect_error<StoreError>([&] { w.write_data(d); }, {"/data/fitted/s:", "step listed twice"});
}

BOOST_AUTO_TEST_CASE(a_resumed_trial_rebuilds_its_curves_from_the_series) {
  TempDir dir("resume");
  Series saved;
  {
    TrialWriter w(dir.path, "t9");
    w.append_curve("train", "loss", 1, 0.5);
    w.append_curve("train", "loss", 2, 0.25);
    w.append_curve("valid", "acc", 2, 0.75);
    w.append_epoch_time(1, 3.0, 30.0);
    w.append_epoch_time(2, 4.0, 40.0);
    saved = w.series();
  }  // killed after epoch 2
  BOOST_TEST(same(saved.at("curves/epoch"), {1, 2}));
  BOOST_TEST(same(saved.at("curves/valid/acc"), {kNaN, 0.75}));
  BOOST_TEST(same(saved.at("timing/epoch_samples_per_second"), {30, 40}));
  {
    TrialWriter w(dir.path, "t9");
    w.restore_series(saved);
    testing::expect_error<StoreError>([&] { w.restore_series(saved); }, {"appended already"});
    testing::expect_error<StoreError>([&] { w.append_curve("train", "loss", 2, 0.1); },
                                      {"already has a value for epoch 2"});
    w.append_curve("train", "loss", 3, 0.125);
    w.append_epoch_time(3, 5.0, 50.0);
    w.finish_done();
  }
  const TrialReader r(trial_path(dir.path, "t9"));
  BOOST_TEST(r.epochs() == (std::vector<std::int64_t>{1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(same(r.curve("train", "loss"), {0.5, 0.25, 0.125}));
  BOOST_TEST(same(r.curve("valid", "acc"), {kNaN, 0.75, kNaN}));
  BOOST_TEST(same(r.timing().epoch_seconds, {3, 4, 5}));

  TrialWriter bad(dir.path, "t10");
  testing::expect_error<StoreError>(
      [&] {
        bad.restore_series({{"other/x", {1}}});
      },
      {"keys start with curves/ or timing/"});
  testing::expect_error<StoreError>(
      [&] {
        bad.restore_series({{"curves/epoch", {1}}, {"curves/a/b", {1, 2}}});
      },
      {"2 values for 1 epochs"});
  testing::expect_error<StoreError>([&] { bad.restore_series({{"curves/epoch", {2, 1}}}); }, {"increasing integers"});
  testing::expect_error<StoreError>(
      [&] {
        bad.restore_series({{"curves/loss", {}}});
      },
      {"not a series of the trial layout"});
}

BOOST_AUTO_TEST_SUITE_END()
