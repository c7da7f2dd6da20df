#include "fuzz/support.h"

#include "framework/config/value.h"
#include "framework/data/pipeline.h"
#include "framework/registry/plugin_spec.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <vector>

namespace attnlab::fuzz {

namespace {

struct WorkDir {
  std::string path;
  WorkDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/attnlab-fuzz-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("fuzz: cannot create " + pattern);
    path = buf.data();
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::string& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

std::string write_input(const std::string& name, std::string_view bytes, bool gzip) {
  const std::string path = work_dir() + "/" + name;
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("fuzz: cannot write " + path);
    if (!bytes.empty() && gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == 0)
      throw std::runtime_error("fuzz: gzwrite failed on " + path);
    gzclose(f);
  } else {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("fuzz: cannot write " + path);
  }
  return path;
}

namespace {

template <class Base>
config::PluginSpec<Base> bind_plugin(const std::string& yaml) {
  config::PluginSpec<Base> s;
  config::Problems problems;
  config::bind_value(config::parse(yaml, "fuzz case"), "case", problems, s);
  problems.check();
  return s;
}

struct BoundCase {
  config::PluginSpec<data::Dataset> dataset;
  std::vector<config::PluginSpec<data::Preprocess>> steps;
};

}  // namespace

void prepare(const DatasetCase& c) {
  static std::map<std::string, BoundCase> bound;  // binding once per case keeps the targets fast
  auto it = bound.find(c.dataset);
  if (it == bound.end()) {
    BoundCase b{bind_plugin<data::Dataset>(c.dataset), {}};
    for (const auto& s : c.steps) b.steps.push_back(bind_plugin<data::Preprocess>(s));
    it = bound.emplace(c.dataset, std::move(b)).first;
  }
  expect_errors([&] {
    core::Rng rng(1);
    const data::PreparedData d = data::prepare_data(it->second.dataset, it->second.steps, rng, work_dir());
    FUZZ_CHECK(d.seq_len >= 1);
    FUZZ_CHECK(!d.splits.train.empty());
    const auto n = d.examples.size();
    for (const auto* split : {&d.splits.train, &d.splits.valid, &d.splits.test})
      for (const auto i : *split) FUZZ_CHECK(i >= 0 && i < n);
  });
}

void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", condition, file, line);
  std::abort();
}

}  // namespace attnlab::fuzz
