// Checkpoints: everything a trial needs to resume exactly where it stopped (parameters, optimizer
// state, RNG states, data cursor, bookkeeping scalars and the curves so far), in one HDF5 file.
//
// Layout (docs/results.md has the h5py recipes):
//   /                      attrs format = "attnlab-checkpoint", format_version = 1, epoch, batch,
//                          step (int64), config_hash (string)
//   /params/<name>         f32 or int64, the tensor's shape (rank 0 = scalar dataset)
//   /optimizer/<key>       same (optim::State: "step", "lr", "0.exp_avg", ...)
//   /rng/<name>            uint64 [4] (core::Rng::State)
//   /scalars/<name>        f64 scalar (best metric, patience counter...)
//   /arrays/<name>         f64 [n] (e.g. TrialWriter::series(), so a resumed trial rebuilds its file)
// A name may contain '/', which nests groups ("curves/train/loss" -> /arrays/curves/train/loss); its
// components must be non-empty and not "." or "..", and no name may be a prefix-group of another
// ("a" and "a/b"). Tensors and doubles are stored without conversion or compression: they
// round-trip bitwise (NaN payloads, -0, denormals included).
//
// Crash safety. save_checkpoint writes "<path>.tmp", closes and fsyncs it, then renames it over
// <path> and fsyncs the directory: <path> is always either the previous complete checkpoint or the
// new complete one, never a torn file. One path must not be saved from two threads at once.
#pragma once

#include "framework/core/rng.h"
#include "framework/core/tensor.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace attnlab::store {

inline constexpr const char* kCheckpointFormat = "attnlab-checkpoint";
inline constexpr std::int64_t kCheckpointFormatVersion = 1;

struct Checkpoint {
  std::map<std::string, core::Tensor> params{};     ///< Module::params by hierarchical name
  std::map<std::string, core::Tensor> optimizer{};  ///< optim::State
  std::map<std::string, core::Rng::State> rngs{};   ///< named RNG streams ("init", "dropout", "shuffle")
  std::int64_t epoch = 0;                           ///< epoch in progress (or the next one to run)
  std::int64_t batch = 0;                           ///< batch position inside that epoch (the data cursor)
  std::int64_t step = 0;                            ///< optimizer steps so far
  std::string config_hash{};  ///< the trial's config hash: a resume refuses a checkpoint of another config
  std::map<std::string, double> scalars{};
  std::map<std::string, std::vector<double>> arrays{};
};

/// <dir>/<id>.ckpt.h5: where a trial's checkpoint lives in its sweep directory.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, const std::string& id);

/// Writes `checkpoint` atomically to `path` (see the header comment). Throws StoreError for an
/// undefined tensor, a bad name, or any I/O or HDF5 failure (the previous checkpoint stays intact
/// and the temporary file is removed).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

/// Reads a checkpoint back. Throws StoreError for a missing, truncated or foreign file ("not an
/// attnlab checkpoint"), a newer format_version, or an /rng entry that is not uint64 [4].
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace attnlab::store
