#include "framework/ops/embedding.h"
#include "framework/ops/reference/embedding.h"
#include "tests/support/op_case.h"

#include <map>

namespace attnlab::testing {
namespace {

namespace ref = ops::reference;

// Ids drawn from [0, rows), with some flat positions pinned (to force repeats and padding ids).
InputSpec ids(Shape shape, std::int64_t rows, std::map<std::int64_t, std::int64_t> pinned = {}) {
  InputSpec s = InputSpec::index(std::move(shape), 0, rows);
  s.gen = [rows, pinned](const Shape& sh, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(sh.numel()));
    for (auto& x : v) x = static_cast<double>(rng.below(static_cast<std::uint64_t>(rows)));
    for (auto [pos, id] : pinned) v[static_cast<std::size_t>(pos)] = static_cast<double>(id);
    return v;
  };
  return s;
}

OpCase embedding_case(std::int64_t rows, std::int64_t dim, InputSpec id, std::int64_t padding_idx) {
  OpCase c;
  c.op = "embedding";
  c.variant = fmt::format("table [{}, {}] ids {} padding_idx {}", rows, dim, id.shape.str(), padding_idx);
  // Uniform in [-1, 1) but for a zero padding row (see reference::embedding).
  InputSpec table = InputSpec::custom({rows, dim}, [padding_idx](const Shape& s, core::Rng& rng) {
    std::vector<double> v(static_cast<std::size_t>(s.numel()));
    for (std::int64_t i = 0; i < s.numel(); ++i)
      v[static_cast<std::size_t>(i)] = i / s[1] == padding_idx ? 0.0 : rng.uniform_double() * 2.0 - 1.0;
    return v;
  });
  c.inputs = {std::move(table), std::move(id)};
  c.run = [padding_idx](const std::vector<Var>& x) { return ops::embedding(x[0], x[1].value(), padding_idx); };
  c.forward = [padding_idx](const std::vector<RefArray>& x) { return ref::embedding(x[0], x[1], padding_idx); };
  c.backward = [padding_idx](const std::vector<RefArray>& x, const RefArray& gy) {
    return std::vector<RefArray>{ref::embedding_backward(x[0], x[1], gy, padding_idx), RefArray(x[1].shape)};
  };
  return c;
}

std::vector<OpCase> make() {
  std::vector<OpCase> v;
  // 12 ids over 5 rows: repeats are certain; row 3 is hit three times.
  v.push_back(embedding_case(5, 4, ids({12}, 5, {{0, 3}, {4, 3}, {11, 3}}), -1));
  v.push_back(embedding_case(6, 3, ids({3, 4}, 6, {{0, 2}, {5, 2}, {1, 4}, {2, 4}}), 2));
  v.push_back(embedding_case(4, 5, ids({2, 5}, 4, {{0, 0}, {9, 0}, {3, 1}, {4, 1}}), 0));
  v.push_back(embedding_case(9, 2, ids({7}, 9, {{6, 8}}), 8));
  v.push_back(embedding_case(3, 6, ids({}, 3), -1));
  v.push_back(embedding_case(50, 17, ids({4, 16}, 50, {{0, 7}, {63, 7}, {32, 7}, {17, 49}}), 49));
  return v;
}

}  // namespace
ATTNLAB_OP_CASES(make);
}  // namespace attnlab::testing
