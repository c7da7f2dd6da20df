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

std::string spec(const std::string& rel) { return std::string(ATTNLAB_TEST_DATA_DIR) + "/specs/" + rel; }

std::string at(const Mark& m) { return std::to_string(m.line) + ":" + std::to_string(m.col); }

const Value& get(const Value& v, const std::vector<std::string>& path) {
  const Value* cur = &v;
  for (const auto& k : path) {
    if (k[0] == '[') {
      cur = &cur->items().at(std::stoul(k.substr(1)));
    } else {
      cur = cur->find(k);
      BOOST_REQUIRE_MESSAGE(cur, "no key " << k);
    }
  }
  return *cur;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(value)

BOOST_AUTO_TEST_CASE(parse_marks_every_node_and_key_one_based) {
  const std::string f = spec("good/marks.yaml");
  const Value v = load_file(f);
  BOOST_TEST(*v.mark().file == f);
  BOOST_TEST(at(v.find_entry("model")->key_mark) == "2:1");
  const Value& model = get(v, {"model"});
  BOOST_TEST(at(model.find_entry("name")->key_mark) == "3:3");
  BOOST_TEST(at(get(model, {"name"}).mark()) == "3:9");
  BOOST_TEST(at(model.find_entry("encoder")->key_mark) == "4:3");
  const Value& enc = get(model, {"encoder"});
  BOOST_TEST(at(enc.find_entry("layers")->key_mark) == "5:5");
  BOOST_TEST(at(get(enc, {"layers"}).mark()) == "5:13");
  // A flow list and its items.
  BOOST_TEST(at(get(enc, {"widths"}).mark()) == "6:13");
  BOOST_TEST(at(get(enc, {"widths", "[0]"}).mark()) == "6:14");
  BOOST_TEST(at(get(enc, {"widths", "[1]"}).mark()) == "6:18");
  // Block list items that are maps: the map starts at its first key.
  BOOST_TEST(at(enc.find_entry("blocks")->key_mark) == "7:5");
  const Value& b0 = get(enc, {"blocks", "[0]"});
  BOOST_TEST(at(b0.mark()) == "8:9");
  BOOST_TEST(at(b0.find_entry("type")->key_mark) == "8:9");
  BOOST_TEST(at(get(b0, {"type"}).mark()) == "8:15");
  BOOST_TEST(at(b0.find_entry("hidden")->key_mark) == "9:9");
  BOOST_TEST(at(get(b0, {"hidden"}).mark()) == "9:17");
  // A flow map inside a block list.
  const Value& b1 = get(enc, {"blocks", "[1]"});
  BOOST_TEST(at(b1.mark()) == "10:9");
  BOOST_TEST(at(b1.find_entry("type")->key_mark) == "10:10");
  BOOST_TEST(at(get(b1, {"type"}).mark()) == "10:16");
  BOOST_TEST(at(b1.find_entry("hidden")->key_mark) == "10:21");
  BOOST_TEST(at(get(b1, {"hidden"}).mark()) == "10:29");
  BOOST_TEST(get(b1, {"hidden"}).quoted());
  BOOST_TEST(!get(b0, {"type"}).quoted());
  // Scalars keep their text; quoted ones are flagged.
  const Value& train = get(v, {"train"});
  BOOST_TEST(get(train, {"lr"}).text() == "3e-4");
  BOOST_TEST(!get(train, {"lr"}).quoted());
  BOOST_TEST(get(train, {"note"}).text() == "quoted");
  BOOST_TEST(get(train, {"note"}).quoted());
  BOOST_TEST(at(get(train, {"note"}).mark()) == "13:9");
  // An empty value points at its key, not at the next line; `~` at itself.
  BOOST_TEST(get(train, {"empty"}).is_null());
  BOOST_TEST(at(get(train, {"empty"}).mark()) == "14:3");
  BOOST_TEST(get(train, {"nothing"}).is_null());
  BOOST_TEST(at(get(train, {"nothing"}).mark()) == "15:12");
  BOOST_TEST(v.keys() == (std::vector<std::string>{"model", "train"}));
  BOOST_TEST(enc.keys() == (std::vector<std::string>{"layers", "widths", "blocks"}));
}

BOOST_AUTO_TEST_CASE(scalars_nulls_and_quoting) {
  const Value v = parse("a:\nb: ~\nc: null\nd: 'null'\ne: NULL\nf: '1'\ng: 1\nh: |\n  x\n  y\ni: !!str 5\n", "inline");
  for (const char* k : {"a", "b", "c", "e"}) BOOST_TEST(v.find(k)->is_null(), k);
  BOOST_TEST(v.find("d")->is_scalar());
  BOOST_TEST(v.find("d")->quoted());
  BOOST_TEST(v.find("f")->quoted());
  BOOST_TEST(!v.find("g")->quoted());
  BOOST_TEST(v.find("f")->text() == v.find("g")->text());
  BOOST_TEST(v.find("h")->text() == "x\ny\n");
  BOOST_TEST(v.find("h")->quoted());
  BOOST_TEST(v.find("i")->quoted());
  BOOST_TEST(v.find("i")->kind_name() == "scalar");
  BOOST_TEST(parse("", "e").is_map());
  BOOST_TEST(parse("", "e").entries().empty());
  BOOST_TEST(parse("# only a comment\n", "e").is_map());
  BOOST_TEST(parse("~", "e").is_null());
  BOOST_TEST(parse("lstm", "e").text() == "lstm");
}

BOOST_AUTO_TEST_CASE(aliases_and_non_string_keys) {
  const Value v = parse("base: &b {x: 1, y: [2]}\nuse: *b\n1: one\n? [1, 2]\n: pair\n~: nothing\n", "inline");
  BOOST_TEST(*v.find("use") == *v.find("base"));
  BOOST_TEST(v.keys() == (std::vector<std::string>{"base", "use", "1", "[1, 2]", "null"}));
  expect_error<ConfigError>([] { parse("a: &x [*x]\n", "rec"); }, {"rec:1:", "recursive alias"});
  expect_error<ConfigError>([] { parse("a: *nope\n", "rec"); },
                            {"rec:1:4: alias '*nope' refers to no anchor (define it first with &nope)"});
}

BOOST_AUTO_TEST_CASE(duplicate_keys_name_both_positions) {
  const std::string f = spec("broken/duplicate_key.yaml");
  BOOST_TEST(error_of([&] { load_file(f); }) == f + ":4:3: train.lr: duplicate key 'lr' (first at " + f + ":2:3)");
  // Every duplicate at once, in source order; flow maps too.
  const std::string msg = error_of([] { parse("a: {k: 1, k: 2}\nb: 1\nb: 2\n", "d"); });
  BOOST_TEST(msg == "d:1:11: a.k: duplicate key 'k' (first at d:1:5)\nd:3:1: b: duplicate key 'b' (first at d:2:1)");
}

BOOST_AUTO_TEST_CASE(malformed_yaml_reports_yaml_cpp_position_one_based) {
  const std::string indent = spec("broken/bad_indent.yaml");
  BOOST_TEST(error_of([&] { load_file(indent); }) == indent + ":3:2: end of map not found");
  const std::string flow = spec("broken/unclosed_flow.yaml");
  BOOST_TEST(error_of([&] { load_file(flow); }) == flow + ":3:6: end of sequence flow not found");
  const std::string escape = spec("broken/bad_escape.yaml");
  BOOST_TEST(error_of([&] { load_file(escape); }) == escape + ":2:15: unknown escape character: q");
  BOOST_TEST(error_of([] { parse("a: [1,\nb: 2", "inline"); }) == "inline:2:1: end of sequence flow not found");
  expect_error<ConfigError>([] { parse("a: 1\n---\nb: 2\n", "docs"); },
                            {"docs:2:1: expected one YAML document, found 2"});
  // yaml-cpp's LoadAll never returned on this (empty documents until memory ran out): a hang in
  // `attnlab validate` found by mutating specs.
  expect_error<ConfigError>([] { parse("name: x\n, b\n", "comma"); }, {"comma:2:1: end of map not found"});
  expect_error<ConfigError>([] { parse(", b\n", "comma"); }, {"comma:1:1: the YAML parser makes no progress"});
  // Aliases that expand exponentially ("billion laughs"): stopped at 100,000 nodes, at once.
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c)
    laughs += fmt::format("{0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n", c,
                          static_cast<char>(c - 1));
  expect_error<ConfigError>([&] { parse(laughs, "laughs"); }, {"laughs:", "more than 100000 nodes"});
  // Brackets nested past yaml-cpp's limit: its message was "bad file".
  expect_error<ConfigError>([] { parse("a: " + std::string(3000, '[') + std::string(3000, ']'), "deep"); },
                            {"deep:1:", "brackets nested deeper than", "is this file a spec?"});
  const std::string missing = spec("no/such/file.yaml");
  BOOST_TEST(error_of([&] { load_file(missing); }) == missing + ": cannot read: No such file or directory");
  expect_error<ConfigError>([] { load_file(ATTNLAB_TEST_DATA_DIR); }, {"is a directory"});
}

BOOST_AUTO_TEST_CASE(config_error_sorts_problems_and_formats_them) {
  auto f = std::make_shared<const std::string>("x.yaml");
  auto g = std::make_shared<const std::string>("a.yaml");
  Problems p;
  BOOST_TEST(p.empty());
  BOOST_CHECK_NO_THROW(p.check());
  p.add(Mark{f, 9, 2}, "model.width", "third");
  p.add(Mark{f, 3, 7}, "", "second");
  p.add(Mark{g, 12, 1}, "a", "first");
  p.add(Mark{f, 9, 1}, "model", "between");
  BOOST_TEST(p.size() == 4u);
  try {
    p.check();
    BOOST_FAIL("no throw");
  } catch (const ConfigError& e) {
    BOOST_TEST(std::string(e.what()) ==
               "a.yaml:12:1: a: first\nx.yaml:3:7: second\nx.yaml:9:1: model: between\nx.yaml:9:2: model.width: third");
    BOOST_TEST(e.problems().size() == 4u);
    BOOST_TEST(e.problems().front().message == "first");
  }
  BOOST_TEST(Mark{}.str() == "<default>");
  BOOST_TEST((Mark{f, 0, 0}.str()) == "x.yaml");
  BOOST_TEST((Problem{Mark{}, "p.q", "msg"}.str()) == "<default>: p.q: msg");
  BOOST_TEST((Problem{Mark{f, 1, 2}, "", "msg"}.str()) == "x.yaml:1:2: msg");
}

BOOST_AUTO_TEST_CASE(message_helpers) {
  BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
  BOOST_TEST(edit_distance("", "abc") == 3u);
  BOOST_TEST(edit_distance("num_heads", "num_head") == 1u);
  BOOST_TEST(edit_distance("ab", "ba") == 2u);
  BOOST_TEST(nearest("num_head", {"causal", "num_heads", "dim_head"}).value() == "num_heads");
  BOOST_TEST(nearest("lr", {"lx", "la", "l"}).value() == "l");  // distance 1 ties: alphabetically first
  BOOST_TEST(nearest("lr", {"lx", "la"}).value() == "la");
  BOOST_TEST(!nearest("dropout", {"causal", "heads"}).has_value());
  BOOST_TEST(!nearest("abc", {"xyz", "abxyz"}).has_value());  // both at distance 3
  BOOST_TEST(join_path("model", "encoder") == "model.encoder");
  BOOST_TEST(join_path("a", "[2]") == "a[2]");
  BOOST_TEST(join_path("", "model") == "model");
  BOOST_TEST(join_path("a", "") == "a");
}

BOOST_AUTO_TEST_CASE(value_api_and_equality) {
  Value m = Value::map();
  m.set("b", Value::scalar("1"));
  m.set("a", Value::scalar("x", {}, true));
  m.set("b", Value::scalar("2"));
  BOOST_TEST(m.keys() == (std::vector<std::string>{"b", "a"}));
  BOOST_TEST(m.find("b")->text() == "2");
  BOOST_TEST(m.find_entry("zz") == nullptr);
  BOOST_TEST(m.erase("b"));
  BOOST_TEST(!m.erase("b"));
  BOOST_TEST(Value().is_null());
  BOOST_TEST(Value::sequence().kind_name() == "list");
  BOOST_TEST(Value::map().kind_name() == "map");
  // Marks, quoting and key order do not matter; kinds and texts do.
  BOOST_TEST(parse("{a: 1, b: 'x'}", "one") == parse("b: x\na: 1\n", "two"));
  BOOST_TEST(!(parse("{a: 1}", "x") == parse("{a: 2}", "x")));
  BOOST_TEST(!(parse("{a: 1}", "x") == parse("{a: 1, b: 1}", "x")));
  BOOST_TEST(!(parse("[1, 2]", "x") == parse("[2, 1]", "x")));
  BOOST_TEST(!(Value::null() == Value::scalar("null")));
  BOOST_TEST(!(Value::map() == Value::sequence()));
}

BOOST_AUTO_TEST_CASE(merge_is_deep_and_later_wins) {
  Value base = parse("a: {x: 1, y: [1, 2, 3], z: {p: 1}}\nb: 1\nc: {k: v}\n", "base");
  merge(base, parse("a: {y: [9], z: {q: 2}, w: new}\nb: ~\nc: scalar\nd: added\n", "over"));
  BOOST_TEST(base == parse("a: {x: 1, y: [9], z: {p: 1, q: 2}, w: new}\nb: ~\nc: scalar\nd: added\n", "want"));
  BOOST_TEST(*get(base, {"a", "y"}).mark().file == "over");
  BOOST_TEST(*get(base, {"a", "x"}).mark().file == "base");
  BOOST_TEST(base.keys() == (std::vector<std::string>{"a", "b", "c", "d"}));
}

BOOST_AUTO_TEST_CASE(canonical_normalises_scalars_and_sorts_keys) {
  BOOST_TEST(canonical(parse("{b: 010, a: [1.50, 'x y', '1', yes, True, +5, 0x1F, 1e3, -0, .Inf, ''], c: ~}", "c")) ==
             "{a: [1.5, x y, '1', 'yes', true, 5, 31, 1000.0, 0, .inf, ''], b: 10, c: null}");
  BOOST_TEST(canonical(parse("[3e-4, 0.1, 1.0, -2.5e-10, 1e400, 123456789012345678901, 1e-5, 1e16, 123.456e2]", "c")) ==
             "[0.0003, 0.1, 1.0, -2.5e-10, .inf, 123456789012345678901, 1e-05, 1e+16, 12345.6]");
  BOOST_TEST(canonical(parse("{'a: b': '[x]', plain: hello world, '3': x}", "c")) ==
             "{'3': x, 'a: b': '[x]', plain: hello world}");
  BOOST_TEST(canonical(Value::map()) == "{}");
  BOOST_TEST(canonical(Value::sequence()) == "[]");
  // The canonical form is YAML that reads back to the same canonical form.
  const Value rich = load_file(spec("good/rich.yaml"));
  BOOST_TEST(canonical(parse(canonical(rich), "canonical")) == canonical(rich));
}

BOOST_AUTO_TEST_CASE(hash_ignores_order_quoting_and_number_format) {
  const Value a = load_file(spec("hash/a.yaml"));
  const Value b = load_file(spec("hash/b.yaml"));
  const Value c = load_file(spec("hash/c.yaml"));
  BOOST_TEST(!(a == b));  // really formatted differently (0x20 vs 32 ...)
  BOOST_TEST(canonical(a) == canonical(b));
  BOOST_TEST(hash(a) == hash(b));
  BOOST_TEST(hash(a) != hash(c));
  BOOST_TEST(hash(a).size() == 16u);
  BOOST_TEST(hash(a).find_first_not_of("0123456789abcdef") == std::string::npos);
  // FNV-1a 64 of the canonical text "a" (reference value of the algorithm).
  BOOST_TEST(hash(Value::scalar("a")) == "af63dc4c8601ec8c");
  // Types stay apart: the string '8' is not the int 8, 1 is not 1.0.
  BOOST_TEST(hash(parse("h: '8'", "x")) != hash(parse("h: 8", "x")));
  BOOST_TEST(hash(parse("h: 1", "x")) != hash(parse("h: 1.0", "x")));
  BOOST_TEST(hash(parse("h: [1, 2]", "x")) != hash(parse("h: [2, 1]", "x")));
}

BOOST_AUTO_TEST_CASE(to_yaml_is_readable_block_yaml) {
  const Value v = parse("a: 1\nb:\n  - x\n  - {c: 'yes', d: [], e: [[1, 2]]}\ne: ''\nf: {}\ng: ~\n", "y");
  BOOST_TEST(to_yaml(v) ==
             "a: 1\n"
             "b:\n"
             "  - x\n"
             "  - c: 'yes'\n"
             "    d: []\n"
             "    e:\n"
             "      - - 1\n"
             "        - 2\n"
             "e: ''\n"
             "f: {}\n"
             "g: null\n");
  BOOST_TEST(to_yaml(Value::map()) == "{}\n");
  BOOST_TEST(to_yaml(Value::scalar("x")) == "x\n");
  // Built in code, not parsed: text that cannot be written plain is quoted.
  Value m = Value::map();
  m.set("k", Value::scalar("a: b"));
  m.set("n", Value::scalar("null"));
  m.set("t", Value::scalar("tab\there"));
  BOOST_TEST(to_yaml(m) == "k: 'a: b'\nn: 'null'\nt: \"tab\\there\"\n");
  BOOST_TEST(parse(to_yaml(m), "rt") == m);
}

BOOST_AUTO_TEST_CASE(to_yaml_round_trips_a_rich_spec) {
  const Value v = load_file(spec("good/rich.yaml"));
  const std::string y = to_yaml(v);
  const Value back = parse(y, "round-trip");
  BOOST_TEST(back == v, y);
  BOOST_TEST(canonical(back) == canonical(v));  // stricter: quoted strings stay strings
  BOOST_TEST(to_yaml(back) == y);
  for (const char* k : {"yes_word", "one", "empty", "colon", "null_word", "tilde", "float_text"})
    BOOST_TEST(get(back, {"strings", k}).quoted(), k);
  BOOST_TEST(!get(back, {"strings", "plain"}).quoted());
  BOOST_TEST(get(back, {"strings", "block"}).text() == "line one\nline two\n");
  BOOST_TEST(get(back, {"nothing"}).is_null());
}

BOOST_AUTO_TEST_SUITE_END()
