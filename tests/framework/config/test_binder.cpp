#include <boost/test/unit_test.hpp>

#include "framework/config/binder.h"
#include "tests/support/expect.h"

#include <limits>

using namespace attnlab;
using config::Value;

namespace {

struct Inner {
  double rate = 0.5;
  template <class V>
  void visit(V& v) {
    v("rate", rate).range(0, 1).doc("a rate");
  }
};

struct Cfg {
  int heads = 8;
  std::int64_t width = 0;
  float scale = 1.0f;
  bool causal = false;
  std::string mode = "scaled";
  std::vector<int> ks{10, 20};
  std::optional<int> dim_out;
  Inner inner;
  template <class V>
  void visit(V& v) {
    v("heads", heads).min(1).doc("number of heads");
    v.required("width", width).min(1).doc("model width");
    v("scale", scale).doc("score scale");
    v("causal", causal).doc("mask the future");
    v("mode", mode).choices({"scaled", "plain"}).doc("score function");
    v("ks", ks).min(1).doc("cut-offs");
    v("dim_out", dim_out).min(1).doc("output width");
    v("inner", inner).doc("nested");
  }
};

Value parse(const std::string& yaml) { return config::parse(yaml, "t.yaml"); }

std::vector<std::string> messages(const std::string& yaml) {
  Cfg c;
  config::Problems p;
  config::bind(c, parse(yaml), "attn", p);
  std::vector<std::string> out;
  for (const auto& pr : p.list()) out.push_back(pr.str());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binder)

BOOST_AUTO_TEST_CASE(binds_every_field_type) {
  Cfg c = config::bind_or_throw<Cfg>(parse(
      "heads: 4\nwidth: 1e3\nscale: 0.125\ncausal: true\nmode: plain\nks: [1, 5]\ndim_out: 16\ninner: {rate: 0.25}\n"));
  BOOST_TEST(c.heads == 4);
  BOOST_TEST(c.width == 1000);
  BOOST_TEST(c.scale == 0.125f);
  BOOST_TEST(c.causal);
  BOOST_TEST(c.mode == "plain");
  BOOST_TEST((c.ks == std::vector<int>{1, 5}));
  BOOST_TEST(c.dim_out.value_or(0) == 16);
  BOOST_TEST(c.inner.rate == 0.25);
}

BOOST_AUTO_TEST_CASE(defaults_stay_when_keys_are_absent) {
  Cfg c = config::bind_or_throw<Cfg>(parse("width: 3\n"));
  BOOST_TEST(c.heads == 8);
  BOOST_TEST(!c.dim_out.has_value());
  BOOST_TEST(c.inner.rate == 0.5);
}

// A section left empty (`attn:` with nothing under it is null) was bound as a map without a place:
// "<default>: attn.width: missing required key". It is reported at the empty section.
BOOST_AUTO_TEST_CASE(a_missing_key_of_an_empty_section_is_reported_at_the_section) {
  Cfg c;
  config::Problems p;
  const Value root = parse("name: x\nattn:\n  # nothing yet\n");
  config::bind(c, *root.find("attn"), "attn", p);
  BOOST_REQUIRE(p.list().size() == 1u);
  BOOST_TEST(p.list()[0].str() == "t.yaml:2:1: attn.width: missing required key 'width' (int)");
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_at_once_with_position_and_path) {
  const auto m = messages(
      "heads: 0\n"          // out of range
      "scale: high\n"       // wrong type
      "causal: yes\n"       // YAML 1.1 boolean
      "mode: scaledd\n"     // not a choice
      "ks: [1, 0]\n"        // element out of range
      "inner: {rate: 2}\n"  // nested out of range
      "head: 3\n");         // unknown key; width missing
  // In declaration order (a ConfigError sorts them by position when it is thrown).
  const std::vector<std::string> want{
      "t.yaml:1:8: attn.heads: 0 must be >= 1",
      "t.yaml:1:1: attn.width: missing required key 'width' (int)",
      "t.yaml:2:8: attn.scale: expected float, got scalar 'high'",
      "t.yaml:3:9: attn.causal: expected bool, got 'yes' (write true or false)",
      "t.yaml:4:7: attn.mode: 'scaledd' is not one of scaled, plain; did you mean 'scaled'?",
      "t.yaml:5:9: attn.ks[1]: 0 must be >= 1",
      "t.yaml:6:15: attn.inner.rate: 2 not in [0, 1]",
      "t.yaml:7:1: attn.head: unknown key 'head'; did you mean 'heads'? valid: causal, dim_out, heads, inner, ks, "
      "mode, scale, width",
  };
  BOOST_TEST(m == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(quoted_numbers_are_strings_not_numbers) {
  const auto m = messages("width: '3'\n");
  BOOST_REQUIRE_EQUAL(m.size(), 1u);
  BOOST_TEST(m[0] == "t.yaml:1:8: attn.width: expected int, got string '3'");
}

BOOST_AUTO_TEST_CASE(narrowing_is_checked) {
  const auto m = messages("width: 1\nheads: 3000000000\nscale: 1e40\n");
  BOOST_REQUIRE_EQUAL(m.size(), 2u);
  BOOST_TEST(m[0] == "t.yaml:2:8: attn.heads: 3000000000 does not fit a 32-bit int");
  BOOST_TEST(m[1] == "t.yaml:3:8: attn.scale: 1e40 does not fit a 32-bit float");
}

BOOST_AUTO_TEST_CASE(resolved_value_round_trips_and_is_canonical) {
  Cfg c = config::bind_or_throw<Cfg>(parse("width: 7\nscale: 0.1\nmode: plain\n"));
  const Value v = config::to_value(c);
  Cfg d = config::bind_or_throw<Cfg>(v);
  BOOST_TEST(d.width == 7);
  BOOST_TEST(d.scale == 0.1f);
  BOOST_TEST(d.mode == "plain");
  BOOST_TEST(!v.find("dim_out"));  // an absent optional stays absent
  BOOST_TEST(config::hash(v) == config::hash(config::to_value(d)));
}

BOOST_AUTO_TEST_CASE(schema_describes_every_field) {
  const auto s = config::schema_of<Cfg>();
  BOOST_REQUIRE_EQUAL(s.size(), 8u);
  BOOST_TEST(s[0].name == "heads");
  BOOST_TEST(s[0].type == "int");
  BOOST_TEST(s[0].default_value == "8");
  BOOST_TEST(s[0].min.value_or(-1) == 1.0);
  BOOST_TEST(s[0].doc == "number of heads");
  BOOST_TEST(s[1].required);
  BOOST_TEST(s[4].choices.size() == 2u);
  BOOST_TEST(s[5].type == "list of int");
  BOOST_TEST(s[6].optional);
  BOOST_TEST(s[7].fields.size() == 1u);
}

BOOST_AUTO_TEST_CASE(floats_print_shortest_and_read_back_as_floats) {
  BOOST_TEST(config::format_float(0.1) == "0.1");
  BOOST_TEST(config::format_float(3.0) == "3.0");
  BOOST_TEST(config::format_float(1e-5) == "1.0e-05");
  BOOST_TEST(config::format_float(std::numeric_limits<double>::infinity()) == ".inf");
  std::string why;
  for (double d : {0.1, 3.0, 1e-5, 123456.789, -2.5e300}) {
    const auto back = config::parse_float(Value::scalar(config::format_float(d)), why);
    BOOST_TEST(back.value_or(0) == d);
  }
}

struct Task {
  double weight = 1.0;
  std::string head = "binary";
  template <class V>
  void visit(V& v) {
    v("weight", weight).min(0).doc("loss weight");
    v("head", head).doc("head type");
  }
};

struct WithMap {
  std::map<std::string, Task> tasks;
  std::map<std::string, double> scales;
  template <class V>
  void visit(V& v) {
    v("tasks", tasks).doc("tasks by name");
    v("scales", scales).doc("per-name scale");
  }
};

BOOST_AUTO_TEST_CASE(maps_bind_by_key_with_paths_in_messages) {
  const auto ok = config::bind_or_throw<WithMap>(
      parse("tasks: {click: {weight: 2}, rating: {head: regression}}\nscales: {a: 0.5}\n"));
  BOOST_TEST(ok.tasks.size() == 2u);
  BOOST_TEST(ok.tasks.at("click").weight == 2.0);
  BOOST_TEST(ok.tasks.at("rating").head == "regression");
  BOOST_TEST(ok.scales.at("a") == 0.5);
  BOOST_TEST(config::schema_of<WithMap>()[0].type == "map of map");
  WithMap bad;
  config::Problems p;
  config::bind(bad, parse("tasks: {click: {weight: -1, extra: 1}}\nscales: [1]\n"), "m", p);
  std::vector<std::string> got;
  for (const auto& pr : p.list()) got.push_back(pr.str());
  const std::vector<std::string> want{
      "t.yaml:1:25: m.tasks.click.weight: -1 must be >= 0",
      "t.yaml:1:29: m.tasks.click.extra: unknown key 'extra'; valid: head, weight",
      "t.yaml:2:9: m.scales: expected a map of float, got list ''",
  };
  BOOST_TEST(got == want, boost::test_tools::per_element());
  const auto v = config::to_value(ok);
  BOOST_TEST(config::bind_or_throw<WithMap>(v).tasks.at("click").weight == 2.0);
}

struct Layers {
  int layers = 1;
  std::vector<int> dilations;
  template <class V>
  void visit(V& v) {
    v("layers", layers).min(1).doc("layers");
    v("dilations", dilations).doc("one per layer");
  }
  void check(config::FieldChecks& c) const {
    if (!dilations.empty() && dilations.size() != static_cast<std::size_t>(layers))
      c.fail("dilations", "one per layer");
  }
};

BOOST_AUTO_TEST_CASE(rules_across_fields_are_checked_when_binding_at_the_field) {
  BOOST_TEST(config::bind_or_throw<Layers>(parse("layers: 2\ndilations: [1, 2]\n")).dilations.size() == 2u);
  config::Problems p;
  Layers bad;
  config::bind(bad, parse("layers: 2\ndilations: [1, 2, 4]\n"), "model.extractor", p);
  BOOST_REQUIRE_EQUAL(p.list().size(), 1u);
  BOOST_TEST(p.list()[0].str() == "t.yaml:2:1: model.extractor.dilations: one per layer");
  // A field that does not bind is reported alone: the rules run on clean fields only.
  config::Problems q;
  config::bind(bad, parse("layers: 0\ndilations: [1, 2, 4]\n"), "", q);
  BOOST_REQUIRE_EQUAL(q.list().size(), 1u);
  BOOST_TEST(q.list()[0].path == "layers");
  // A config built in code: enforce() throws PathError at the first broken rule.
  Layers coded;
  coded.layers = 3;
  coded.dilations = {1};
  attnlab::testing::expect_error<config::PathError>([&] { config::enforce(coded); }, {"dilations: one per layer"});
  coded.dilations = {1, 2, 4};
  config::enforce(coded);
}

BOOST_AUTO_TEST_SUITE_END()
