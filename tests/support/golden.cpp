#include "tests/support/golden.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace attnlab::testing {

Golden Golden::load(const std::string& name) {
  Golden g;
  g.path_ = std::string(ATTNLAB_TEST_DATA_DIR) + "/goldens/" + name + ".txt";
  std::ifstream in(g.path_);
  if (!in) throw Error(fmt::format("golden: cannot open {}", g.path_));
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string word, key;
    int rank = -1;
    head >> word >> key >> rank;
    if (word != "tensor" || rank < 0)
      throw Error(fmt::format("{}:{}: expected 'tensor <name> <rank> <dims...>'", g.path_, lineno));
    std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
    for (auto& d : dims) head >> d;
    core::Shape shape(dims);
    std::string body;
    std::getline(in, body);
    ++lineno;
    std::istringstream vals(body);
    std::vector<double> v;
    v.reserve(static_cast<std::size_t>(shape.numel()));
    double x;
    while (vals >> x) v.push_back(x);
    if (static_cast<std::int64_t>(v.size()) != shape.numel())
      throw Error(
          fmt::format("{}:{}: tensor '{}' of shape {} has {} values", g.path_, lineno, key, shape.str(), v.size()));
    g.t_[key] = {shape, std::move(v)};
  }
  return g;
}

core::Tensor Golden::tensor(const std::string& key) const {
  auto it = t_.find(key);
  if (it == t_.end()) {
    std::string keys;
    for (const auto& [k, _] : t_) keys += (keys.empty() ? "" : ", ") + k;
    throw Error(fmt::format("golden {}: no tensor '{}' (has: {})", path_, key, keys));
  }
  std::vector<float> f(it->second.second.begin(), it->second.second.end());
  return core::Tensor::from(f, it->second.first);
}

core::Tensor Golden::index(const std::string& key) const {
  const core::Tensor t = tensor(key);
  std::vector<std::int64_t> v;
  for (float x : t.to_vector()) v.push_back(static_cast<std::int64_t>(std::llround(x)));
  return core::Tensor::from_i64(v, t.shape());
}

double max_rel_error(const core::Tensor& a, const core::Tensor& b, double floor) {
  if (a.shape() != b.shape()) return std::numeric_limits<double>::infinity();
  const auto x = a.to_vector(), y = b.to_vector();
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = std::abs(static_cast<double>(x[i]) - y[i]) / std::max(std::abs(static_cast<double>(y[i])), floor);
    if (std::isnan(e)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace attnlab::testing
