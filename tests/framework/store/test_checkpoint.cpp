// Checkpoints round-trip bitwise and are replaced atomically.
#include <unistd.h>

#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "framework/store/checkpoint.h"
#include "framework/store/h5.h"
#include "tests/support/expect.h"
#include "tests/support/temp_dir.h"

using namespace attnlab;
using namespace attnlab::store;
namespace fs = std::filesystem;

namespace {

using testing::TempDir;

bool same_tensor(const core::Tensor& a, const core::Tensor& b) {
  return a.defined() && b.defined() && a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

Checkpoint sample() {
  Checkpoint c;
  std::vector<float> w = {0.5f,
                          -0.0f,
                          1e-45f,
                          std::bit_cast<float>(0x7fc00123u),
                          std::bit_cast<float>(0xffa00001u),
                          std::numeric_limits<float>::infinity()};
  c.params["encoder.layers.0.w_q"] = core::Tensor::from(w, core::Shape{2, 3});
  c.params["encoder.layers.0.b_q"] = core::Tensor::scalar(-3.25f);
  c.params["embedding.table"] = core::Tensor::zeros(core::Shape{0, 4});
  c.optimizer["step"] = core::Tensor::from_i64(std::vector<std::int64_t>{17}, core::Shape{});
  c.optimizer["lr"] = core::Tensor::scalar(0.001f);
  c.optimizer["0.exp_avg"] = core::Tensor::from(std::vector<float>{1, 2, 3, 4, 5, 6}, core::Shape{2, 3});
  c.optimizer["0.step"] = core::Tensor::from_i64(
      std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()},
      core::Shape{2});
  c.rngs["shuffle"] = {1, 0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull, 42};
  c.rngs["dropout"] = {5, 6, 7, 8};
  c.epoch = 3;
  c.batch = 117;
  c.step = 1234567890123;
  c.config_hash = "ab12cd34ef56";
  c.scalars["best_valid_accuracy"] = 0.1;
  c.scalars["patience_left"] = 2;
  c.scalars["nan"] = std::numeric_limits<double>::quiet_NaN();
  c.arrays["curves/epoch"] = {1, 2, 3};
  c.arrays["curves/train/loss"] = {0.5, 0.25, 0.125};
  c.arrays["empty"] = {};
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(everything_round_trips_bitwise) {
  TempDir dir("ckpt");
  const fs::path p = dir.path / "t.ckpt.h5";
  const Checkpoint c = sample();
  save_checkpoint(p, c);
  BOOST_TEST(!fs::exists(dir.path / "t.ckpt.h5.tmp"));
  const Checkpoint r = load_checkpoint(p);
  BOOST_TEST(r.params.size() == 3u);
  for (const auto& [name, t] : c.params) BOOST_TEST(same_tensor(r.params.at(name), t), name);
  BOOST_TEST(r.optimizer.size() == 4u);
  for (const auto& [name, t] : c.optimizer) BOOST_TEST(same_tensor(r.optimizer.at(name), t), name);
  BOOST_TEST(r.params.at("encoder.layers.0.b_q").rank() == 0);
  BOOST_TEST((r.params.at("embedding.table").shape() == core::Shape{0, 4}));
  BOOST_TEST((r.rngs == c.rngs));
  BOOST_TEST(r.epoch == 3);
  BOOST_TEST(r.batch == 117);
  BOOST_TEST(r.step == 1234567890123);
  BOOST_TEST(r.config_hash == "ab12cd34ef56");
  BOOST_TEST(r.scalars.size() == 3u);
  BOOST_TEST(r.scalars.at("best_valid_accuracy") == 0.1);
  BOOST_TEST(r.scalars.at("patience_left") == 2.0);
  BOOST_TEST(std::isnan(r.scalars.at("nan")));
  BOOST_TEST((r.arrays == std::map<std::string, std::vector<double>>{
                              {"curves/epoch", {1, 2, 3}}, {"curves/train/loss", {0.5, 0.25, 0.125}}, {"empty", {}}}));
}

BOOST_AUTO_TEST_CASE(a_restored_rng_continues_the_same_stream) {
  TempDir dir("rng");
  core::Rng rng(2024);
  for (int i = 0; i < 5; ++i) rng.next_u64();
  Checkpoint c;
  c.rngs["shuffle"] = rng.state();
  save_checkpoint(dir.path / "c.h5", c);
  std::vector<std::uint64_t> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(rng.next_u64());
  core::Rng restored(0);
  restored.set_state(load_checkpoint(dir.path / "c.h5").rngs.at("shuffle"));
  for (int i = 0; i < 4; ++i) BOOST_TEST(restored.next_u64() == expected[static_cast<std::size_t>(i)]);
}

BOOST_AUTO_TEST_CASE(saving_replaces_atomically_and_a_failed_save_keeps_the_old_one) {
  TempDir dir("atomic");
  const fs::path p = dir.path / "c.h5";
  Checkpoint a;
  a.epoch = 1;
  save_checkpoint(p, a);
  Checkpoint b = sample();
  b.epoch = 2;
  save_checkpoint(p, b);
  BOOST_TEST(load_checkpoint(p).epoch == 2);
  // Bad names fail before anything is written; an undefined tensor too.
  Checkpoint bad;
  bad.epoch = 9;
  bad.arrays["curves"] = {1};
  bad.arrays["curves/loss"] = {1};
  testing::expect_error<StoreError>([&] { save_checkpoint(p, bad); },
                                    {p.string(), "/arrays/curves:", "is both a value and a group of 'curves/loss'"});
  bad.arrays = {{"a//b", {1}}};
  testing::expect_error<StoreError>([&] { save_checkpoint(p, bad); }, {"/arrays/a//b:", "invalid name"});
  bad.arrays = {{"..", {1}}};
  testing::expect_error<StoreError>([&] { save_checkpoint(p, bad); }, {"invalid name '..'"});
  bad.arrays.clear();
  bad.params["w"] = core::Tensor();
  testing::expect_error<StoreError>([&] { save_checkpoint(p, bad); }, {"/params/w:", "undefined tensor"});
  BOOST_TEST(load_checkpoint(p).epoch == 2);
  BOOST_TEST(!fs::exists(dir.path / "c.h5.tmp"));
  // An I/O failure (no such directory) is a StoreError too.
  testing::expect_error<StoreError>([&] { save_checkpoint(dir.path / "nodir" / "c.h5", a); },
                                    {"nodir", "cannot create"});
}

BOOST_AUTO_TEST_CASE(foreign_and_damaged_files_are_refused) {
  TempDir dir("foreign");
  const fs::path other = dir.path / "other.h5";
  {
    h5::File f = h5::File::create(other);
    f.set_attr("format", "attnlab-trial");
  }
  testing::expect_error<StoreError>([&] { (void)load_checkpoint(other); },
                                    {other.string(), "not an attnlab checkpoint"});
  const fs::path p = dir.path / "c.h5";
  save_checkpoint(p, sample());
  const auto size = fs::file_size(p);
  std::vector<char> bytes(size / 2);
  std::ifstream(p, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const fs::path cut = dir.path / "cut.h5";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  testing::expect_error<StoreError>([&] { (void)load_checkpoint(cut); }, {cut.string(), "truncated"});
  testing::expect_error<StoreError>([&] { (void)load_checkpoint(dir.path / "none.h5"); }, {"no such file"});
  {
    h5::File f = h5::File::open(p, h5::File::Mode::read_write);
    f.remove("rng/dropout");
    f.write("rng/dropout", std::span<const std::uint64_t>(std::vector<std::uint64_t>{1, 2, 3}),
            std::span<const std::int64_t>(std::vector<std::int64_t>{3}));
  }
  testing::expect_error<StoreError>([&] { (void)load_checkpoint(p); }, {"/rng/dropout:", "4 words, not 3"});
}

BOOST_AUTO_TEST_SUITE_END()
