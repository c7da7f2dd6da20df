#include "framework/ops/op_registry.h"

#include "framework/core/error.h"

#include <algorithm>

namespace attnlab::ops {
namespace {
std::vector<OpInfo>& table() {
  static std::vector<OpInfo> t;
  return t;
}
}  // namespace

OpRegistrar::OpRegistrar(OpInfo info) {
  for (const auto& o : table())
    if (o.name == info.name) throw Error(fmt::format("op '{}' registered twice", info.name));
  table().push_back(info);
}

std::vector<OpInfo> op_table() {
  auto t = table();
  std::sort(t.begin(), t.end(), [](const OpInfo& a, const OpInfo& b) { return a.name < b.name; });
  return t;
}

}  // namespace attnlab::ops
