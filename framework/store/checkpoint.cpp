#include "framework/store/checkpoint.h"

#include "framework/store/durable.h"
#include "framework/store/h5.h"

#include <fmt/format.h>

namespace attnlab::store {

namespace {

// Checks every name of one section: components valid, no name a prefix-group of another.
template <class Map>
void check_names(const std::string& file, const std::string& section, const Map& map) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string& name = it->first;
    const std::string where = "/" + section + "/" + name;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t slash = name.find('/', pos);
      const std::string part = name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
      if (part.empty() || part == "." || part == "..")
        throw StoreError(file, where, fmt::format("invalid name '{}': empty, '.' or '..' component", name));
      if (slash == std::string::npos) break;
      pos = slash + 1;
    }
    // In sorted order, "a/b" follows "a" after any "a<c>" with c < '/'; search for it directly.
    auto child = map.lower_bound(name + "/");
    if (child != map.end() && child->first.rfind(name + "/", 0) == 0)
      throw StoreError(file, where, fmt::format("'{}' is both a value and a group of '{}'", name, child->first));
  }
}

// Datasets under `g` by their path relative to it (nested groups joined with '/').
void walk(const h5::Group& g, const std::string& prefix, std::vector<std::pair<std::string, h5::Dataset>>& out) {
  for (const auto& name : g.list()) {
    const std::string key = prefix.empty() ? name : prefix + "/" + name;
    if (g.is_group(name))
      walk(g.open_group(name), key, out);
    else
      out.emplace_back(key, g.open_dataset(name));
  }
}

std::vector<std::pair<std::string, h5::Dataset>> section(const h5::File& f, const std::string& name) {
  std::vector<std::pair<std::string, h5::Dataset>> out;
  if (f.exists(name)) walk(f.open_group(name), "", out);
  return out;
}

}  // namespace

std::filesystem::path checkpoint_path(const std::filesystem::path& dir, const std::string& id) {
  return dir / (id + ".ckpt.h5");
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  const std::string file = path.string();
  check_names(file, "params", c.params);
  check_names(file, "optimizer", c.optimizer);
  check_names(file, "rng", c.rngs);
  check_names(file, "scalars", c.scalars);
  check_names(file, "arrays", c.arrays);
  for (const auto* m : {&c.params, &c.optimizer})
    for (const auto& [name, t] : *m)
      if (!t.defined())
        throw StoreError(file, (m == &c.params ? "/params/" : "/optimizer/") + name, "undefined tensor");

  write_durably(path, [&](const std::filesystem::path& temp) {
    h5::File f = h5::File::create(temp);
    f.set_attr("format", kCheckpointFormat);
    f.set_attr("format_version", kCheckpointFormatVersion);
    f.set_attr("epoch", c.epoch);
    f.set_attr("batch", c.batch);
    f.set_attr("step", c.step);
    f.set_attr("config_hash", c.config_hash);
    {
      h5::Group params = f.group("params"), optimizer = f.group("optimizer"), rng = f.group("rng"),
                scalars = f.group("scalars"), arrays = f.group("arrays");
      for (const auto& [name, t] : c.params) params.write(name, t);
      for (const auto& [name, t] : c.optimizer) optimizer.write(name, t);
      const std::int64_t four = 4;
      for (const auto& [name, s] : c.rngs) rng.write(name, std::span<const std::uint64_t>(s), std::span(&four, 1));
      for (const auto& [name, v] : c.scalars) scalars.write_scalar(name, v);
      for (const auto& [name, v] : c.arrays) arrays.write(name, v);
    }
    f.close();
  });
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  const h5::File f = h5::File::open(path);
  if (!f.has_attr("format") || f.attr_string("format") != kCheckpointFormat)
    throw StoreError(file, "",
                     fmt::format("not an attnlab checkpoint (no root attribute format = \"{}\")", kCheckpointFormat));
  const std::int64_t version = f.attr_int("format_version");
  if (version < 1 || version > kCheckpointFormatVersion)
    throw StoreError(file, "",
                     fmt::format("checkpoint format_version {} is not supported (this attnlab reads 1 to {})", version,
                                 kCheckpointFormatVersion));
  Checkpoint c;
  c.epoch = f.attr_int("epoch");
  c.batch = f.attr_int("batch");
  c.step = f.attr_int("step");
  c.config_hash = f.attr_string("config_hash");
  for (auto& [name, d] : section(f, "params")) c.params[name] = d.read_tensor();
  for (auto& [name, d] : section(f, "optimizer")) c.optimizer[name] = d.read_tensor();
  for (auto& [name, d] : section(f, "rng")) {
    const std::vector<std::uint64_t> v = d.read<std::uint64_t>();
    if (v.size() != 4) throw StoreError(file, d.path(), fmt::format("an RNG state has 4 words, not {}", v.size()));
    c.rngs[name] = {v[0], v[1], v[2], v[3]};
  }
  for (auto& [name, d] : section(f, "scalars")) c.scalars[name] = d.read_scalar<double>();
  for (auto& [name, d] : section(f, "arrays")) c.arrays[name] = d.read<double>();
  return c;
}

}  // namespace attnlab::store
