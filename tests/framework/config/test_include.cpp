#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "tests/support/expect.h"

#include <ostream>
#include <string>
#include <vector>

// Boost.Test prints both sides of a failed comparison.
namespace attnlab::config {
static std::ostream& operator<<(std::ostream& os, const Value& v) { return os << to_yaml(v); }
}  // namespace attnlab::config

using namespace attnlab;
using namespace attnlab::config;
using attnlab::testing::error_of;
using attnlab::testing::expect_error;

namespace {

std::string dir() { return std::string(ATTNLAB_TEST_DATA_DIR) + "/specs/include"; }
std::string spec(const std::string& name) { return dir() + "/" + name; }

std::string text_at(const Value& v, const std::string& a, const std::string& b) {
  const Value* x = v.find(a);
  BOOST_REQUIRE_MESSAGE(x, "no key " << a);
  const Value* y = x->find(b);
  BOOST_REQUIRE_MESSAGE(y, "no key " << a << "." << b);
  return y->text();
}

bool has_include_key(const Value& v) {
  if (v.is_map()) {
    for (const auto& e : v.entries())
      if (e.key == "include" || has_include_key(e.value)) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(include)

// top.yaml includes [mid.yaml, sub/extra.yaml]; mid.yaml includes base.yaml; sub/extra.yaml
// includes leaf.yaml next to itself. Included documents merge in order, the includer last.
BOOST_AUTO_TEST_CASE(three_levels_merge_in_order_later_wins) {
  const Value v = load_spec(spec("top.yaml"));
  BOOST_TEST(!has_include_key(v));
  BOOST_TEST(v.keys() == (std::vector<std::string>{"model", "train", "data"}));
  BOOST_TEST(text_at(v, "model", "width") == "16");     // mid over base
  BOOST_TEST(text_at(v, "model", "dropout") == "0.5");  // top over base
  BOOST_TEST(text_at(v, "train", "lr") == "0.1");       // only in base
  BOOST_TEST(text_at(v, "train", "epochs") == "3");     // base 1 < leaf 100 < extra 3 (extra after mid)
  BOOST_TEST(text_at(v, "train", "seed") == "7");       // leaf, found relative to sub/extra.yaml
  BOOST_TEST(text_at(v, "data", "name") == "top");
  // Lists are replaced, not concatenated.
  const Value& layers = *v.find("model")->find("layers");
  BOOST_TEST(layers.items().size() == 1u);
  BOOST_TEST(layers.items()[0].text() == "x");
  // Marks say which file each value came from.
  BOOST_TEST(*v.find("model")->find("width")->mark().file == spec("mid.yaml"));
  BOOST_TEST(*v.find("train")->find("lr")->mark().file == spec("base.yaml"));
  BOOST_TEST(v.find("train")->find("seed")->mark().file->ends_with("include/sub/leaf.yaml"));
  BOOST_TEST(v.find("model")->find("width")->mark().line == 3);
}

BOOST_AUTO_TEST_CASE(two_levels_and_single_path_form) {
  const Value v = load_spec(spec("mid.yaml"));
  BOOST_TEST(text_at(v, "model", "width") == "16");
  BOOST_TEST(text_at(v, "model", "dropout") == "0.1");
  BOOST_TEST(text_at(v, "train", "epochs") == "2");
  BOOST_TEST(!has_include_key(v));
  // load_file does not resolve includes.
  BOOST_TEST(load_file(spec("mid.yaml")).find("include") != nullptr);
  // A spec without includes loads as is.
  BOOST_TEST(load_spec(spec("base.yaml")) == load_file(spec("base.yaml")));
}

BOOST_AUTO_TEST_CASE(missing_include_names_written_and_resolved_path) {
  const std::string f = spec("missing.yaml");
  BOOST_TEST(error_of([&] { load_spec(f); }) ==
             f + ":1:22: include[1]: include 'nope.yaml' not found (resolved to '" + dir() + "/nope.yaml')");
  const std::string root = spec("absent.yaml");
  expect_error<ConfigError>([&] { load_spec(root); }, {root, "cannot read"});
}

BOOST_AUTO_TEST_CASE(include_cycle_names_the_chain) {
  BOOST_TEST(error_of([] { load_spec(spec("cycle_a.yaml")); }) ==
             spec("cycle_b.yaml") + ":1:10: include: include cycle: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml");
  BOOST_TEST(error_of([] { load_spec(spec("cycle_b.yaml")); }) ==
             spec("cycle_a.yaml") + ":1:10: include: include cycle: cycle_b.yaml -> cycle_a.yaml -> cycle_b.yaml");
}

BOOST_AUTO_TEST_CASE(include_must_be_paths) {
  const std::string f = spec("bad_include.yaml");
  BOOST_TEST(error_of([&] { load_spec(f); }) == f + ":1:10: include: expected a path or a list of paths, got map");
}

BOOST_AUTO_TEST_SUITE_END()
