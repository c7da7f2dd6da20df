// A host for plugin libraries, linked like the attnlab executable (ENABLE_EXPORTS):
//   load_plugin_main <hello_attention.so> <dup_plugin.so> <bad_plugin.so>
// loads the out-of-tree example, builds attention/hello from configs, runs it, and checks the
// loader's errors. Prints one line per check; exits 1 if any failed.
#include "framework/config/binder.h"
#include "framework/model/families.h"
#include "framework/ops/ops.h"
#include "framework/registry/loader.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace attnlab;
using config::Value;

int failures = 0;

void check(bool ok, const std::string& what) {
  fmt::print("{}: {}\n", ok ? "ok" : "FAILED", what);
  if (!ok) ++failures;
}

/// The message of the attnlab::Error that f throws ("" if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Value hello_node(const std::string& scale) {
  Value n = Value::map();
  n.set("type", Value::scalar("hello"));
  n.set("scale", Value::scalar(scale, {std::make_shared<const std::string>("spec.yaml"), 4, 12}));
  return n;
}

struct HostConfig {
  config::PluginSpec<model::Attention> attention{"hello"};
  template <class V>
  void visit(V& v) {
    v("attention", attention).doc("the attention plugin");
  }
};

// Runs `a` on x [2, 2, 3] and checks y = scale * x, the identity weights and dL/dx = scale for L = sum(y).
void check_forward(model::Attention& a, float scale, const std::string& what) {
  std::vector<float> xs(12);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = (i % 2 ? -1.f : 0.5f) * static_cast<float>(i + 1);
  autograd::Var x(core::Tensor::from(xs, {2, 2, 3}), true);
  const autograd::Var y = a.forward(x, core::Tensor::full({2, 2}, 1.f), autograd::Var());
  const auto ys = y.value().to_vector();
  bool same = y.shape() == core::Shape{2, 2, 3};
  for (std::size_t i = 0; same && i < xs.size(); ++i) same = std::abs(ys[i] - scale * xs[i]) < 1e-6f;
  check(same, what + ": forward gives scale * x");
  check(a.out_dim() == 3 && !a.pools(), what + ": out_dim 3, does not pool");
  const auto w = a.weights().to_vector();
  check(a.weights().shape() == core::Shape{2, 2, 2} && w == std::vector<float>{1, 0, 0, 1, 1, 0, 0, 1},
        what + ": identity weights");
  ops::sum_all(y).backward();
  bool grad = x.grad().defined();
  for (float g : grad ? x.grad().to_vector() : std::vector<float>{}) grad = grad && std::abs(g - scale) < 1e-6f;
  check(grad, what + ": the gradient flows back through the host's ops");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: {} <hello_attention.so> <dup_plugin.so> <bad_plugin.so>\n", argv[0]);
    return 2;
  }
  const std::string hello_lib = argv[1], dup_lib = argv[2], bad_lib = argv[3];
  auto& attention = registry::Registry<model::Attention>::get();
  const model::Attention::Context ctx{.dim = 3, .query_dim = 0, .seq_len = 2, .rng = nullptr};
  try {
    check(attention.find("hello") == nullptr, "attention/hello is not registered before loading");
    const auto added = registry::load_plugin_library(hello_lib);
    check(added == std::vector<registry::LoadedPlugin>{{"attention", "hello"}},
          "loading reports attention/hello as new");
    check(registry::load_plugin_library(hello_lib).empty(), "loading the same library again is a no-op");
    check(registry::loaded_plugin_libraries().size() == 1, "one library is loaded");
    const auto* family = registry::find_family("attention");
    const auto names = family ? family->names() : std::vector<std::string>{};
    check(std::find(names.begin(), names.end(), "hello") != names.end(), "the family index lists attention/hello");
    const auto* e = attention.find("hello");
    check(e && contains(e->origin, "hello_attention.cpp") && contains(e->origin, "hello_attention.so") &&
              contains(e->summary, "scales"),
          "the entry names its source file, library and summary");
    check(e && e->schema.size() == 1 && e->schema[0].name == "scale" && e->schema[0].min == 0.0,
          "the schema has scale >= 0");

    auto a = attention.create(hello_node("2"), ctx, "model.attention");
    check_forward(*a, 2.f, "{type: hello, scale: 2}");
    const std::string shape = error_of([&] { a->forward(autograd::Var(core::Tensor::zeros({2, 2, 4})), {}, {}); });
    check(contains(shape, "attention/hello") && contains(shape, "[2, 2, 4]"),
          "a wrong width is a ShapeError: " + shape);

    const std::string bad = error_of([&] { attention.create(hello_node("-1"), ctx, "model.attention"); });
    check(contains(bad, "spec.yaml:4:12: model.attention.scale: -1 not in [0, 100]"),
          "{scale: -1} is a ConfigError at its path: " + bad);

    // A host config with a PluginSpec defaulting to the loaded plugin.
    const HostConfig defaults = config::bind_or_throw<HostConfig>(Value::map(), "model");
    check_forward(*registry::create(defaults.attention, ctx), 1.f, "a PluginSpec{\"hello\"} left at its default");
    const Value resolved = config::to_value(defaults);
    const Value* r = resolved.find("attention");
    check(r && r->keys() == std::vector<std::string>{"type", "scale"} && r->find("type")->text() == "hello" &&
              r->find("scale")->text() == "1.0",
          "the default spec resolves to {type: hello, scale: 1.0}");
    Value partial = Value::map();
    Value three = Value::map();
    three.set("scale", Value::scalar("3"));
    partial.set("attention", three);
    const HostConfig bound = config::bind_or_throw<HostConfig>(partial, "model");
    check(bound.attention.type == "hello" && bound.attention.resolved.find("scale") &&
              bound.attention.resolved.find("scale")->text() == "3.0",
          "a spec without type uses the default type: resolved scale 3.0");
    check_forward(*registry::create(bound.attention, ctx), 3.f, "{attention: {scale: 3}}");

    const std::string dup = error_of([&] { registry::load_plugin_library(dup_lib); });
    check(contains(dup, "attention plugin 'hello' is registered twice") && contains(dup, "hello_attention.cpp") &&
              contains(dup, "dup_plugin.cpp"),
          "a duplicate names both origins: " + dup);
    check(error_of([&] { registry::load_plugin_library(dup_lib); }) == dup,
          "loading the failed library again repeats its error");
    check(attention.find("hello") == e && attention.names() == names, "the first registration of hello stays");

    const std::string unresolved = error_of([&] { registry::load_plugin_library(bad_lib); });
    check(contains(unresolved, "undefined symbol") && contains(unresolved, "attnlab_symbol_nobody_defines"),
          "an unresolved symbol is an Error with dlerror's text: " + unresolved);
    const std::string missing = error_of([&] { registry::load_plugin_library("no/such/plugin.so"); });
    check(contains(missing, "no/such/plugin.so") && contains(missing, "No such file"),
          "a missing file is an Error: " + missing);
  } catch (const std::exception& x) {
    check(false, std::string("unexpected exception: ") + x.what());
  }
  fmt::print("{} failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
