// The plugin registry, PluginSpec binding, the family index and the loader's errors. Loading real
// plugin libraries is tested by tests/registry (plugin_roundtrip), which needs an exporting host.
#include "framework/config/binder.h"
#include "framework/model/families.h"
#include "framework/registry/loader.h"
#include "framework/registry/plugin_spec.h"
#include "framework/registry/registry.h"
#include "tests/support/expect.h"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace attnlab_registry_test {

using namespace attnlab;
using attnlab::testing::error_of;
using attnlab::testing::expect_error;
using config::PluginSpec;
using config::Value;
namespace fs = std::filesystem;

// A family of its own, so the tests control every registered name.
class Toy {
 public:
  static constexpr const char* kFamily = "toy";
  struct Context {
    int base = 0;
  };
  virtual ~Toy() = default;
  virtual int value() const = 0;
};

struct AlphaConfig {
  int width = 2;
  double rate = 0.5;
  std::string mode = "fast";
  static constexpr const char* kFormat = "a toy input:\n  width 2\n  rate 0.5";
  template <class V>
  void visit(V& v) {
    v("width", width).min(1).doc("how wide");
    v("rate", rate).range(0.0, 1.0).doc("how often");
    v("mode", mode).choices({"fast", "slow"}).doc("how");
  }
};

class Alpha : public Toy {
 public:
  Alpha(const AlphaConfig& cfg, const Context& ctx) : cfg_(cfg), base_(ctx.base) {}
  int value() const override { return base_ + cfg_.width; }
  const AlphaConfig& cfg() const { return cfg_; }

 private:
  AlphaConfig cfg_;
  int base_;
};

struct BetaConfig {
  std::vector<int> sizes = {1, 2};
  std::optional<int> limit;
  template <class V>
  void visit(V& v) {
    v("sizes", sizes).min(0).doc("sizes");
    v("limit", limit).doc("a limit; absent: none");
  }
};

class Beta : public Toy {
 public:
  Beta(const BetaConfig& cfg, const Context&) : cfg_(cfg) {}
  int value() const override { return static_cast<int>(cfg_.sizes.size()); }

 private:
  BetaConfig cfg_;
};

struct ModelConfig {
  int hidden = 8;
  PluginSpec<Toy> toy{"alpha"};
  PluginSpec<Toy> other;
  std::vector<PluginSpec<Toy>> extras;
  template <class V>
  void visit(V& v) {
    v("hidden", hidden).min(1).doc("hidden width");
    v("toy", toy).doc("the main toy");
    v.required("other", other).doc("another toy, no default");
    v("extras", extras).doc("more toys");
  }
};

// A family whose plugin holds a nested Toy plugin.
class Box {
 public:
  static constexpr const char* kFamily = "box";
  struct Context {};
  virtual ~Box() = default;
  virtual const Toy& inner() const = 0;
};

struct WrapperConfig {
  PluginSpec<Toy> inner{"alpha"};
  template <class V>
  void visit(V& v) {
    v("inner", inner).doc("the wrapped toy");
  }
};

class Wrapper : public Box {
 public:
  // Built by the registry, the config is bound from the resolved map: nested specs are resolved.
  Wrapper(const WrapperConfig& cfg, const Context&)
      : resolved_(!cfg.inner.resolved.is_null()), inner_(toys_create(cfg.inner)) {}
  const Toy& inner() const override { return *inner_; }
  bool resolved_at_construction() const { return resolved_; }

 private:
  static std::unique_ptr<Toy> toys_create(const PluginSpec<Toy>& s) { return registry::create(s, {.base = 100}); }
  bool resolved_;
  std::unique_ptr<Toy> inner_;
};

const auto kFile = std::make_shared<const std::string>("spec.yaml");
config::Mark at(int line, int col) { return {kFile, line, col}; }

Value scalar(const std::string& text, int line = 0, int col = 0) {
  return Value::scalar(text, line ? at(line, col) : config::Mark{});
}

/// {type: <type>, k: v, ...} with marks on line `line`.
Value node(const std::string& type, std::vector<std::pair<std::string, Value>> kv = {}, int line = 2) {
  Value n = Value::map(at(line, 3));
  if (!type.empty()) n.set("type", scalar(type, line, 9), at(line, 3));
  for (auto& [k, v] : kv) n.set(k, std::move(v), at(line, 20));
  return n;
}

std::vector<std::string> paths_of(const config::ConfigError& e) {
  std::vector<std::string> r;
  for (const auto& p : e.problems()) r.push_back(p.path);
  return r;
}

config::ConfigError config_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const config::ConfigError& e) {
    return e;
  }
  BOOST_FAIL("expected a ConfigError");
  return config::ConfigError({});
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

auto& toys() { return registry::Registry<Toy>::get(); }

}  // namespace attnlab_registry_test

using namespace attnlab_registry_test;

ATTNLAB_REGISTER_PLUGIN(Toy, alpha, Alpha, AlphaConfig, "the first toy");
ATTNLAB_REGISTER_PLUGIN(Toy, beta, Beta, BetaConfig, "the second toy");
ATTNLAB_REGISTER_PLUGIN(Box, wrapper, Wrapper, WrapperConfig, "wraps a toy");

BOOST_AUTO_TEST_SUITE(plugin_registry)

BOOST_AUTO_TEST_CASE(registration) {
  BOOST_TEST(toys().names() == (std::vector<std::string>{"alpha", "beta"}), boost::test_tools::per_element());
  BOOST_TEST(std::string(registry::Registry<Toy>::family()) == "toy");
  const auto* a = toys().find("alpha");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->summary == "the first toy");
  BOOST_TEST(contains(a->origin, "test_registry.cpp"));
  BOOST_TEST(!toys().find("gamma"));
  const auto entries = toys().entries();
  BOOST_REQUIRE(entries.size() == 2u);
  BOOST_TEST(entries[0]->name == "alpha");
  BOOST_TEST(entries[1]->name == "beta");
}

BOOST_AUTO_TEST_CASE(create_binds_the_typed_config) {
  auto t = toys().create(node("alpha", {{"width", scalar("5")}, {"mode", scalar("slow")}}), {.base = 10}, "model.toy");
  BOOST_TEST(t->value() == 15);
  const auto* alpha = dynamic_cast<const Alpha*>(t.get());
  BOOST_REQUIRE(alpha);
  BOOST_TEST(alpha->cfg().mode == "slow");
  BOOST_TEST(alpha->cfg().rate == 0.5);
  BOOST_TEST(toys().create(node("beta"), {})->value() == 2);
}

BOOST_AUTO_TEST_CASE(resolved_config_has_type_first_and_defaults) {
  config::Problems p;
  const Value r = toys().find("alpha")->validate(node("alpha", {{"width", scalar("5")}}), "model.toy", p);
  BOOST_TEST(p.empty());
  BOOST_TEST(r.keys() == (std::vector<std::string>{"type", "width", "rate", "mode"}), boost::test_tools::per_element());
  BOOST_TEST(r.find("type")->text() == "alpha");
  BOOST_TEST(r.find("width")->text() == "5");
  BOOST_TEST(r.find("mode")->text() == "fast");
  // An absent optional stays absent.
  const Value b = toys().find("beta")->validate(node("beta"), "", p);
  BOOST_TEST(b.keys() == (std::vector<std::string>{"type", "sizes"}), boost::test_tools::per_element());
  // The resolved config builds the same plugin.
  BOOST_TEST(toys().find("alpha")->make(r, {.base = 1})->value() == 6);
}

BOOST_AUTO_TEST_CASE(duplicate_names_both_origins) {
  registry::Registry<Toy>::Entry e = {
      "alpha", "again", "elsewhere/alpha2.cpp", {}, toys().find("beta")->validate, toys().find("beta")->make, ""};
  try {
    toys().add(e);
    BOOST_FAIL("a duplicate name was accepted");
  } catch (const registry::PluginError& x) {
    const std::string msg = x.what();
    BOOST_TEST(contains(msg, "toy plugin 'alpha' is registered twice"), msg);
    BOOST_TEST(contains(msg, "test_registry.cpp"), msg);
    BOOST_TEST(contains(msg, "elsewhere/alpha2.cpp"), msg);
    BOOST_TEST(x.family() == "toy");
    BOOST_TEST(x.name() == "alpha");
  }
  BOOST_TEST(toys().find("alpha")->summary == "the first toy");
  e.name = "";
  expect_error<registry::PluginError>([&] { toys().add(e); }, {"needs a name", "elsewhere/alpha2.cpp"});
}

BOOST_AUTO_TEST_CASE(unknown_type_gives_hint_and_list) {
  try {
    toys().create(node("alpah"), {}, "model.toy");
    BOOST_FAIL("an unknown type was accepted");
  } catch (const registry::PluginError& x) {
    BOOST_TEST(std::string(x.what()) ==
               "spec.yaml:2:9: model.toy.type: unknown toy 'alpah'; did you mean 'alpha'? registered: alpha, beta");
    BOOST_TEST(x.name() == "alpah");
  }
  const std::string far = error_of([] { toys().create(node("zzzzzz"), {}, "model.toy"); });
  BOOST_TEST(contains(far, "unknown toy 'zzzzzz'; registered: alpha, beta"), far);
  BOOST_TEST(!contains(far, "did you mean"), far);
}

BOOST_AUTO_TEST_CASE(missing_type_or_not_a_map) {
  const auto e = config_error_of([] { toys().create(node("", {{"width", scalar("1")}}), {}, "model.toy"); });
  BOOST_TEST(contains(e.what(), "spec.yaml:2:3: model.toy: missing required key 'type'; registered: alpha, beta"),
             e.what());
  const auto s = config_error_of([] { toys().create(scalar("alpha", 3, 8), {}, "model.toy"); });
  BOOST_TEST(contains(s.what(), "spec.yaml:3:8: model.toy: expected a map with a 'type' key, got scalar 'alpha'"),
             s.what());
  const auto m = config_error_of([] {
    Value n = Value::map(at(4, 1));
    n.set("type", Value::map(at(4, 9)));
    toys().create(n, {}, "model.toy");
  });
  BOOST_TEST(contains(m.what(), "spec.yaml:4:9: model.toy.type: expected a toy name, got map"), m.what());
}

BOOST_AUTO_TEST_CASE(bad_config_reports_every_problem_with_its_path) {
  const auto e = config_error_of([] {
    toys().create(node("alpha", {{"width", scalar("0", 5, 10)},
                                 {"rate", scalar("2", 6, 9)},
                                 {"mode", scalar("medium", 7, 9)},
                                 {"colour", scalar("red")}}),
                  {}, "model.toy");
  });
  BOOST_TEST(e.problems().size() == 4u, e.what());
  const auto paths = paths_of(e);
  for (const char* p : {"model.toy.width", "model.toy.rate", "model.toy.mode", "model.toy.colour"})
    BOOST_TEST((std::find(paths.begin(), paths.end(), p) != paths.end()), p << " missing in:\n" << e.what());
  const std::string msg = e.what();
  BOOST_TEST(contains(msg, "spec.yaml:5:10: model.toy.width: 0 must be >= 1"), msg);
  BOOST_TEST(contains(msg, "model.toy.rate: 2 not in [0, 1]"), msg);
  BOOST_TEST(contains(msg, "model.toy.mode: 'medium' is not one of fast, slow"), msg);
  BOOST_TEST(contains(msg, "model.toy.colour: unknown key 'colour'"), msg);
  BOOST_TEST(contains(msg, "valid: mode, rate, width"), msg);
}

BOOST_AUTO_TEST_CASE(plugin_spec_defaults) {
  Value root = Value::map(at(1, 1));
  root.set("other", node("beta"));
  const auto cfg = config::bind_or_throw<ModelConfig>(root, "model");
  // Absent: the default type, resolved lazily with its defaults.
  BOOST_TEST(cfg.toy.type == "alpha");
  BOOST_TEST(cfg.toy.resolved.is_null());
  BOOST_TEST(registry::create(cfg.toy, {.base = 1})->value() == 3);
  const Value r = config::resolve(cfg.toy);
  BOOST_TEST(r.keys() == (std::vector<std::string>{"type", "width", "rate", "mode"}), boost::test_tools::per_element());
  BOOST_TEST(cfg.other.type == "beta");
  BOOST_TEST(cfg.other.resolved.find("sizes")->items().size() == 2u);
  // The resolved config of the whole struct holds every plugin's resolved config, and binds back.
  const Value all = config::to_value(cfg);
  BOOST_TEST(all.find("toy")->find("width")->text() == "2");
  const auto again = config::bind_or_throw<ModelConfig>(all, "model");
  BOOST_TEST((again.toy.resolved == r));
  BOOST_TEST((again.other.resolved == cfg.other.resolved));

  // null and a map without `type` take the default type.
  Value partial = Value::map();
  partial.set("toy", node("", {{"width", scalar("7")}}));
  partial.set("other", Value::null());
  const auto null_other = config_error_of([&] { config::bind_or_throw<ModelConfig>(partial, "model"); });
  BOOST_TEST(null_other.problems().size() == 1u, null_other.what());
  BOOST_TEST(contains(null_other.what(), "model.other: missing required key 'type'; registered: alpha, beta"),
             null_other.what());
  partial.set("other", node("alpha"));
  partial.set("hidden", Value::null());
  partial.erase("hidden");
  const auto p = config::bind_or_throw<ModelConfig>(partial, "model");
  BOOST_TEST(p.toy.type == "alpha");
  BOOST_TEST(p.toy.resolved.find("width")->text() == "7");
  BOOST_TEST(registry::create(p.toy, {})->value() == 7);
  Value nulls = Value::map();
  nulls.set("toy", Value::null());
  nulls.set("other", node("beta"));
  BOOST_TEST(config::bind_or_throw<ModelConfig>(nulls, "model").toy.resolved.find("type")->text() == "alpha");

  // A spec without a type cannot be created.
  expect_error<registry::PluginError>([] { registry::create(PluginSpec<Toy>{}, {}); },
                                      {"toy plugin", "missing required key 'type'"});
  expect_error<registry::PluginError>([] { registry::create(PluginSpec<Toy>{"gamma"}, {}); }, {"unknown toy 'gamma'"});
}

BOOST_AUTO_TEST_CASE(plugin_spec_problems_in_a_config_struct) {
  Value root = Value::map(at(1, 1));
  root.set("hidden", scalar("0", 2, 9));
  root.set("toy", node("beta",
                       {{"sizes",
                         [] {
                           Value s = Value::sequence(at(3, 20));
                           s.push_back(scalar("3", 3, 21));
                           s.push_back(scalar("-1", 3, 24));
                           return s;
                         }()}},
                       3));
  root.set("other", node("alpha", {{"width", scalar("0", 4, 20)}}, 4));
  Value extras = Value::sequence(at(5, 1));
  extras.push_back(node("alpha", {}, 5));
  extras.push_back(node("betta", {}, 6));
  extras.push_back(scalar("beta", 7, 5));
  root.set("extras", extras);
  const auto e = config_error_of([&] { config::bind_or_throw<ModelConfig>(root, "model"); });
  const std::string msg = e.what();
  BOOST_TEST(e.problems().size() == 5u, msg);
  BOOST_TEST(contains(msg, "spec.yaml:2:9: model.hidden: 0 must be >= 1"), msg);
  BOOST_TEST(contains(msg, "spec.yaml:3:24: model.toy.sizes[1]: -1 must be >= 0"), msg);
  BOOST_TEST(contains(msg, "spec.yaml:4:20: model.other.width: 0 must be >= 1"), msg);
  BOOST_TEST(
      contains(
          msg,
          "spec.yaml:6:9: model.extras[1].type: unknown toy 'betta'; did you mean 'beta'? registered: alpha, beta"),
      msg);
  BOOST_TEST(contains(msg, "spec.yaml:7:5: model.extras[2]: expected a map with a 'type' key, got scalar 'beta'"), msg);

  // Missing required plugin spec.
  Value none = Value::map(at(1, 1));
  const auto m = config_error_of([&] { config::bind_or_throw<ModelConfig>(none, "model"); });
  BOOST_TEST(contains(m.what(), "model.other: missing required key 'other' (toy plugin)"), m.what());
}

BOOST_AUTO_TEST_CASE(nested_plugin) {
  auto& boxes = registry::Registry<Box>::get();
  const auto& schema = boxes.find("wrapper")->schema;  // taken during static initialisation
  BOOST_REQUIRE(schema.size() == 1u);
  BOOST_TEST(schema[0].type == "toy plugin");
  BOOST_TEST(schema[0].default_value == "alpha");

  Value inner = node("beta", {{"sizes", [] {
                                 Value s = Value::sequence();
                                 for (const char* x : {"4", "5", "6"}) s.push_back(scalar(x));
                                 return s;
                               }()}});
  auto b = boxes.create(node("wrapper", {{"inner", inner}}), {}, "model.box");
  BOOST_TEST(b->inner().value() == 3);
  auto d = boxes.create(node("wrapper"), {}, "model.box");
  BOOST_TEST(d->inner().value() == 102);
  BOOST_TEST(dynamic_cast<const Wrapper&>(*d).resolved_at_construction());

  config::Problems p;
  const Value r = boxes.find("wrapper")->validate(node("wrapper"), "model.box", p);
  BOOST_TEST(r.find("inner")->keys() == (std::vector<std::string>{"type", "width", "rate", "mode"}),
             boost::test_tools::per_element());

  const auto e = config_error_of([] {
    registry::Registry<Box>::get().create(node("wrapper", {{"inner", node("alpha", {{"widht", scalar("3")}}, 3)}}), {},
                                          "model.box");
  });
  BOOST_TEST(
      contains(e.what(), "model.box.inner.widht: unknown key 'widht'; did you mean 'width'? valid: mode, rate, width"),
      e.what());
}

BOOST_AUTO_TEST_CASE(schema_and_help) {
  const auto s = config::schema_of<ModelConfig>();
  BOOST_REQUIRE(s.size() == 4u);
  BOOST_TEST(s[1].name == "toy");
  BOOST_TEST(s[1].type == "toy plugin");
  BOOST_TEST(s[1].default_value == "alpha");
  BOOST_TEST(s[1].choices.empty());  // never a stale list: help asks the family
  BOOST_TEST(s[1].doc == "the main toy");
  BOOST_TEST(s[2].required);
  BOOST_TEST(s[2].default_value.empty());
  BOOST_TEST(s[3].type == "list of toy plugin");

  const auto& a = toys().find("alpha")->schema;
  BOOST_REQUIRE(a.size() == 3u);
  BOOST_TEST(a[0].name == "width");
  BOOST_TEST(a[0].type == "int");
  BOOST_TEST(a[0].doc == "how wide");
  BOOST_TEST((a[0].min == 1.0));
  BOOST_TEST((a[1].max == 1.0));
  BOOST_TEST(a[2].choices == (std::vector<std::string>{"fast", "slow"}), boost::test_tools::per_element());

  // The type-erased view used by help output.
  const auto info = registry::family_info<Toy>();
  BOOST_TEST(info.name == "toy");
  BOOST_TEST(info.names() == (std::vector<std::string>{"alpha", "beta"}), boost::test_tools::per_element());
  const auto entries = info.entries();
  BOOST_TEST(entries[1].summary == "the second toy");
  // A Config's kFormat becomes the entry's format (help prints it); without one it is empty.
  BOOST_TEST(entries[0].format == "a toy input:\n  width 2\n  rate 0.5");
  BOOST_TEST(toys().find("alpha")->format == entries[0].format);
  BOOST_TEST(entries[1].format.empty());
  BOOST_TEST(entries[1].schema.size() == 2u);
  config::Problems p;
  entries[0].validate(node("alpha", {{"width", scalar("-3")}}), "x", p);
  BOOST_TEST(p.size() == 1u);
}

BOOST_AUTO_TEST_CASE(family_index) {
  std::vector<std::string> names;
  for (const auto& f : registry::families()) names.push_back(f.name);
  BOOST_TEST(names == (std::vector<std::string>{"extractor", "attention", "pooling", "multitask", "head", "weighting",
                                                "dataset", "preprocess", "optimizer", "schedule", "objective"}),
             boost::test_tools::per_element());
  BOOST_TEST(registry::find_family("attention"));
  BOOST_TEST(registry::find_family("attention")->name == "attention");
  BOOST_TEST(!registry::find_family("toy"));
}

// Every directory plugins/<family>/<name>/ registers exactly one plugin `name` in `family`, and
// every plugin registered from plugins/<family>/ lives in its own directory. Code shared by plugins
// lives in plugins/common/ (across families) and plugins/<family>/common/ (within one), which
// register nothing.
BOOST_AUTO_TEST_CASE(registry_complete) {
  const fs::path root = fs::path(ATTNLAB_TEST_DATA_DIR).parent_path().parent_path() / "plugins";
  std::set<std::string> families;
  for (const auto& f : registry::families()) families.insert(f.name);
  BOOST_TEST(families.count("attention"));
  if (fs::exists(root)) {
    for (const auto& d : fs::directory_iterator(root)) {
      const std::string name = d.path().filename().string();
      BOOST_TEST((!d.is_directory() || name == "common" || families.count(name)),
                 "plugins/" << name << " is not a registered plugin family");
    }
  }
  for (const auto& f : registry::families()) {
    std::set<std::string> dirs, registered;
    if (fs::is_directory(root / f.name))
      for (const auto& d : fs::directory_iterator(root / f.name))
        if (d.is_directory() && d.path().filename() != "common") dirs.insert(d.path().filename().string());
    const std::string marker = "plugins/" + f.name + "/";
    for (const auto& e : f.entries()) {
      BOOST_TEST(!contains(e.origin, "plugins/common/"),
                 f.name << "/" << e.name << " is registered from shared code " << e.origin);
      BOOST_TEST(!contains(e.origin, marker + "common/"),
                 f.name << "/" << e.name << " is registered from shared code " << e.origin);
      if (!contains(e.origin, marker)) continue;  // registered by a test or a loaded library
      registered.insert(e.name);
      BOOST_TEST(contains(e.origin, marker + e.name + "/"),
                 f.name << "/" << e.name << " is registered from " << e.origin);
    }
    for (const auto& d : dirs)
      BOOST_TEST(registered.count(d),
                 "plugins/" << f.name << "/" << d << " registers no " << f.name << " plugin named '" << d << "'");
    for (const auto& r : registered)
      BOOST_TEST(dirs.count(r), f.name << " plugin '" << r << "' has no directory plugins/" << f.name << "/" << r);
  }
}

BOOST_AUTO_TEST_CASE(loader_errors) {
  const auto before = registry::loaded_plugin_libraries();
  const std::string missing = error_of([] { registry::load_plugin_library("no/such/libplugin.so"); });
  BOOST_TEST(contains(missing, "cannot load plugin library 'no/such/libplugin.so'"), missing);
  BOOST_TEST(contains(missing, "No such file"), missing);
  const fs::path text = fs::temp_directory_path() / "attnlab_test_registry_not_a_library.so";
  std::ofstream(text) << "not a shared library\n";
  const std::string bad = error_of([&] { registry::load_plugin_library(text.string()); });
  fs::remove(text);
  BOOST_TEST(contains(bad, text.string()), bad);
  BOOST_TEST(registry::loaded_plugin_libraries() == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
