// Sweep expansion: a spec's `sweep:` section becomes a list of trials, each a complete spec.
//
// Grammar (every section is optional; an absent, null or empty `sweep:` gives exactly one trial):
//
//   sweep:
//     seeds: [1, 2, 3]                 # one axis over train.seed (sets or adds it, like ++train.seed)
//     grid:                            # one axis per key: the cartesian product
//       model.extractor.type: [cnn, lstm, transformer]
//       model.attention.type: [none, seed_self]
//     zip:                             # ONE axis: lists of equal length, taken position by position
//       train.lr: [1.0e-3, 3.0e-4]
//       train.batch_size: [32, 64]
//     random:                          # ONE axis of n samples drawn with core::Rng(seed)
//       n: 8                           # required, >= 1
//       seed: 0                        # optional, default 0, an integer >= 0
//       params:
//         train.lr: {loguniform: [1.0e-4, 1.0e-2]}   # exp(uniform(log a, log b)); needs 0 < a <= b
//         train.dropout: {uniform: [0.0, 0.5]}       # a + (b - a) * u, u in [0, 1); a <= b
//         model.hidden: {int: [32, 256]}             # integers, both ends inclusive
//         model.attention.type: {choice: [additive, multi_head]}   # any values, even maps
//
// Keys are dotted paths into the spec, with list indices allowed (`model.layers[1].width`). A plain
// key must exist in the spec or (given a schema, as load_experiment gives) in its schema; `+key`
// adds a key neither knows and `++key` sets or adds (Hydra's override grammar: the values are
// applied with config::apply_overrides, so a missing key gets the same "did you mean" hint as on the
// command line, and an axis over a plugin's `type` replaces the node and comes before the axes of
// its parameters). A key may appear in one axis only
// (`seeds` counts as train.seed). Axis values are used as written (a list item may be a map or a
// list); sampled floats are written in shortest round-trip form, always with a '.' ("1.0e-05").
//
// Order. The axes are, in this order: each grid key (in the order written), zip, random, seeds.
// Trials enumerate their product like nested for-loops in that order: the first grid key varies
// slowest and seeds fastest. Trial i's random values are sample (i's random position) of the one
// stream drawn from core::Rng(seed): samples in order, and within a sample one draw per param in
// the order written (uniform/loguniform: uniform_double, int/choice: below). So the samples do not
// depend on the other axes, and are identical on every machine and compiler.
//
// Errors. Everything wrong with the sweep is collected and thrown as one config::ConfigError, each
// problem with the mark of the offending key or value and its dotted location (e.g.
// "spec.yaml:12:5: sweep.zip.train.batch_size: has 3 values but train.lr has 2 ..."): unknown keys
// inside sweep:/random: (with a nearest-name hint), non-list or empty axis values, unequal zip
// lengths, bad distributions (unknown name, bounds that are not two finite numbers, low > high,
// loguniform low <= 0, non-integer int bounds, empty choice), a missing or non-integer n, n < 1, a
// key in two axes, malformed keys, keys the spec lacks (apply_overrides' message), problems `resolve`
// reports for a trial (tagged with the trial), two trials with the same id, and more than kMaxTrials.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "framework/config/value.h"

namespace attnlab::experiment {

/// A sweep expanding to more trials than this is an error (almost certainly a mistake).
inline constexpr std::size_t kMaxTrials = 100000;

struct Trial {
  std::size_t index = 0;  // 0-based position in the expansion order
  /// Dotted key (without its '+'/'++' prefix) -> value, in axis order (grid keys, zip keys in the
  /// order written, random params in the order written, train.seed).
  std::vector<std::pair<std::string, config::Value>> assignments;
  config::Value spec;  // the spec with the assignments applied and `sweep` removed
  /// First 12 hex digits of config::hash(resolve(spec)) (of spec itself without a resolver): stable
  /// across runs and machines, equal for equal configs whatever their key order.
  std::string id;
  /// "model.attention.type=additive train.seed=2": key=canonical(value) in assignment order; empty
  /// for the single trial of a spec without a sweep.
  std::string label() const;
};

/// Short labels for display, one per trial: only the swept keys, a plugin node by its type and the
/// parameters that differ between the trials ("data.dataset=interactions
/// model.extractor=cnn(channels=16) train.seed=1" instead of every dataset parameter); each at most
/// `width` characters. Trial::label() stays the complete form (stored with the results).
std::vector<std::string> short_labels(const std::vector<Trial>& trials, std::size_t width = 100);

using Resolver = std::function<config::Value(const config::Value&)>;

/// Expands spec["sweep"] into trials in the order documented above. `resolve` maps a trial's spec to
/// its fully resolved config (defaults filled in by the typed configs; the CLI passes the binder); a
/// config::ConfigError it throws is collected with the sweep's problems, other exceptions propagate.
/// Throws config::ConfigError holding every problem (see the header comment); a spec that is not a
/// map is a problem too.
/// With a `schema`, an axis may set any key the schema knows without `+` (as overrides do), and a
/// plugin's `type` axis is applied before the axes of its parameters (a new type drops the old
/// plugin's parameters; see config::apply_overrides).
std::vector<Trial> expand_sweep(const config::Value& spec, const Resolver& resolve = {},
                                const config::KeySchema* schema = nullptr);

}  // namespace attnlab::experiment
