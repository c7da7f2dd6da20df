// Probing every registered plugin at small sizes: what the registry-wide gradient check
// (test_registry_gradcheck.cpp) and the composition test (test_composition.cpp) share.
//
// A plugin is probed with its default config, except when the override table below has an entry
// for it: then the entry's YAML is merged over the defaults (a default that does not fit the probe
// sizes, e.g. num_heads not dividing dim 8), and the entry may also change the gradient check's
// eps and tol. Adding a plugin needs no edit here unless its defaults do not build at these sizes,
// which the suite `registry_probe` reports, naming the plugin.
#pragma once

#include "framework/config/value.h"
#include "framework/core/rng.h"
#include "framework/core/tensor.h"
#include "framework/model/families.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace attnlab::testing::probe {

// Probe sizes: batch B, sequence length T, input width (Extractor in_dim, Attention and Pooling
// dim, Head in_dim), Attention query_dim, Head num_outputs.
inline constexpr std::int64_t kBatch = 3;
inline constexpr std::int64_t kSeqLen = 5;
inline constexpr std::int64_t kDim = 8;
inline constexpr std::int64_t kQueryDim = 8;
inline constexpr std::int64_t kNumOutputs = 4;

/// One row of the override table.
struct Override {
  std::string family;  // kFamily: "extractor", "attention", "pooling" or "head"
  std::string name;    // the registered plugin name
  std::string config;  // YAML flow map merged over the defaults, e.g. "{num_heads: 2}"; "" for none
  double eps = 0;      // gradient check step; 0: the checker's default (3e-3)
  double tol = 0;      // gradient check tolerance; 0: the checker's default (2e-2)
  std::string why;     // why the defaults do not do
};

/// THE table of per-plugin probe overrides. Every entry must name a registered plugin (stale
/// entries are reported by registry_probe/every_plugin_builds_at_probe_sizes).
inline const std::vector<Override>& overrides() {
  static const std::vector<Override> table = {
      {"extractor", "transformer", "{activation: gelu}", 0, 0,
       "its ReLU feed-forward layer has many units; at probe sizes some pre-activations land within eps of the kink"},
      {"extractor", "cnn2d", "{in_channels: 8, pool: 1}", 0, 0,
       "it outputs out_len() = H'*W' spatial positions, not seq_len steps; as a 5x1 image of 8 channels without "
       "pooling it keeps "
       "the 5 positions the probe's checks and compositions expect"},
      {"head", "next_item", "{tied: false}", 0, 0,
       "tied scoring needs the model's item embedding table, which a probe has not"},
  };
  return table;
}

inline const Override* find_override(const std::vector<Override>& table, const std::string& family,
                                     const std::string& name) {
  const auto it =
      std::find_if(table.begin(), table.end(), [&](const Override& o) { return o.family == family && o.name == name; });
  return it == table.end() ? nullptr : &*it;
}

/// The resolved spec of plugin `name` of Base's family: its defaults, with the table's entry merged
/// over them. Throws registry::PluginError for an unknown name, config::ConfigError when the
/// entry does not bind.
template <class Base>
config::PluginSpec<Base> spec(const std::string& name, const std::vector<Override>& table = overrides()) {
  const auto& reg = registry::Registry<Base>::get();
  const auto* e = reg.find(name);
  if (!e) throw registry::PluginError(Base::kFamily, name, reg.unknown_message(name));
  config::Value node = config::Value::map();
  node.set("type", config::Value::scalar(name));
  const std::string path = fmt::format("probe override {}/{}", Base::kFamily, name);
  if (const Override* o = find_override(table, Base::kFamily, name); o && !o->config.empty())
    config::merge(node, config::parse(o->config, path));
  config::Problems problems;
  config::Value resolved = e->validate(node, path, problems);
  problems.check();
  return {name, std::move(resolved)};
}

/// The family's Context at probe sizes.
template <class Base>
typename Base::Context context(core::Rng& rng);
template <>
inline model::Extractor::Context context<model::Extractor>(core::Rng& rng) {
  return {.in_dim = kDim, .seq_len = kSeqLen, .rng = &rng};
}
template <>
inline model::Attention::Context context<model::Attention>(core::Rng& rng) {
  return {.dim = kDim, .query_dim = kQueryDim, .seq_len = kSeqLen, .rng = &rng};
}
template <>
inline model::Pooling::Context context<model::Pooling>(core::Rng& rng) {
  return {.dim = kDim, .seq_len = kSeqLen, .rng = &rng};
}
template <>
inline model::Head::Context context<model::Head>(core::Rng& rng) {
  // Training counts of the outputs (ids 1..: item 0 is padding), for popularity heads and samplers.
  std::vector<float> counts(static_cast<std::size_t>(kNumOutputs));
  for (std::size_t i = 1; i < counts.size(); ++i) counts[i] = static_cast<float>(i + 1);
  return {.in_dim = kDim,
          .num_outputs = kNumOutputs,
          .rng = &rng,
          .item_table = {},
          .item_counts = core::Tensor::from(counts, core::Shape{kNumOutputs})};
}
template <>
inline model::MultiTask::Context context<model::MultiTask>(core::Rng& rng) {
  return {.in_dim = kDim, .tasks = {"a", "b"}, .rng = &rng};
}
template <>
inline model::Weighting::Context context<model::Weighting>(core::Rng& rng) {
  return {.tasks = {"a", "b"}, .rng = &rng};
}

/// Plugin `name` built from spec(name, table) with `ctx` (by default the probe Context).
template <class Base>
std::unique_ptr<Base> build(const std::string& name, const typename Base::Context& ctx,
                            const std::vector<Override>& table = overrides()) {
  return registry::create(spec<Base>(name, table), ctx);
}

/// Values whose magnitudes are 0.1 + 0.9 (k + 0.5) / n for k < n, shuffled, with random signs: at
/// least 0.1 from zero and, pairwise, at least 0.9 / n apart (0.0075 for the largest probe input,
/// n = B*T*dim = 120, i.e. more than the checker's 2 eps = 0.006), so that no relu input taken
/// straight from them sits on its kink and no perturbation swaps the order of two of them (max).
inline core::Tensor distinct_values(const core::Shape& shape, core::Rng& rng) {
  const auto n = static_cast<std::size_t>(shape.numel());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float magnitude = 0.1f + 0.9f * (static_cast<float>(order[i]) + 0.5f) / static_cast<float>(n);
    v[i] = rng.bernoulli(0.5f) ? magnitude : -magnitude;
  }
  return core::Tensor::from(v, shape);
}

/// f32 [kBatch, kSeqLen]: row 0 all real, row 1 with its last step padding, row 2 with its last two.
inline core::Tensor padding_mask() {
  std::vector<float> m(static_cast<std::size_t>(kBatch * kSeqLen), 1.f);
  for (std::int64_t b = 1; b < kBatch; ++b)
    for (std::int64_t t = kSeqLen - std::min<std::int64_t>(b, 2); t < kSeqLen; ++t)
      m[static_cast<std::size_t>(b * kSeqLen + t)] = 0.f;
  return core::Tensor::from(m, core::Shape{kBatch, kSeqLen});
}

/// Boost test names allow [A-Za-z0-9_] here (plugin names are identifiers already).
inline std::string test_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return s;
}

/// The suite `composition`, one case per extractor x attention x pooling (test_composition.cpp).
boost::unit_test::test_suite* make_composition_suite();

}  // namespace attnlab::testing::probe
