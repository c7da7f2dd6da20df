#include <boost/test/unit_test.hpp>

#include "framework/config/value.h"
#include "tests/support/expect.h"

#include <ostream>
#include <string>
#include <tuple>
#include <vector>

// Boost.Test prints both sides of a failed comparison.
namespace attnlab::config {
static std::ostream& operator<<(std::ostream& os, const Value& v) { return os << to_yaml(v); }
}  // namespace attnlab::config

using namespace attnlab;
using namespace attnlab::config;
using attnlab::testing::error_of;

namespace {

const char* kSpec =
    "model:\n"
    "  type: lstm\n"
    "  width: 16\n"
    "  layers:\n"
    "    - {width: 8, act: relu}\n"
    "    - {width: 4, act: tanh}\n"
    "  tags: [a, b]\n"
    "optim:\n"
    "  lr: 0.001\n"
    "  name: adam\n"
    "empty:\n";

Value spec() { return parse(kSpec, "spec.yaml"); }

// Parses each argument (arg_index = position + 1) and applies them all.
Value applied(const std::vector<std::string>& args) {
  Value v = spec();
  std::vector<Override> ovs;
  for (std::size_t i = 0; i < args.size(); ++i) ovs.push_back(parse_override(args[i], static_cast<int>(i) + 1));
  apply_overrides(v, ovs);
  return v;
}

std::string apply_error(const std::vector<std::string>& args) {
  return error_of([&] { applied(args); });
}

std::string parse_error(const std::string& arg, int index = 1) {
  return error_of([&] { parse_override(arg, index); });
}

const Value& at(const Value& v, const std::string& dotted) {
  const Value* cur = &v;
  std::size_t i = 0;
  while (i < dotted.size()) {
    std::size_t j = dotted.find_first_of(".[", i + 1);
    if (j == std::string::npos) j = dotted.size();
    std::string seg = dotted.substr(i, j - i);
    if (seg[0] == '.') seg = seg.substr(1);
    if (seg[0] == '[')
      cur = &cur->items().at(std::stoul(seg.substr(1)));
    else
      cur = cur->find(seg);
    BOOST_REQUIRE_MESSAGE(cur, "no " << dotted);
    i = j;
  }
  return *cur;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(overrides)

BOOST_AUTO_TEST_CASE(parse_every_form) {
  Override o = parse_override("model.width=32", 3);
  BOOST_TEST((o.op == Override::Op::set));
  BOOST_TEST(o.path == (std::vector<std::string>{"model", "width"}));
  BOOST_TEST(o.value->text() == "32");
  BOOST_TEST(o.text == "model.width=32");
  BOOST_TEST(o.mark.str() == "<command line>:3:1");
  BOOST_TEST(o.value->mark().str() == "<command line>:3:13");  // the value's column in the argument

  BOOST_TEST((parse_override("+a.b=1").op == Override::Op::add));
  BOOST_TEST((parse_override("++a.b=1").op == Override::Op::set_or_add));
  o = parse_override("~a.b");
  BOOST_TEST((o.op == Override::Op::remove));
  BOOST_TEST(!o.value.has_value());
  o = parse_override("~a.b=3");
  BOOST_TEST((o.op == Override::Op::remove));
  BOOST_TEST(o.value->text() == "3");
  o = parse_override("model.layers[1].width=8");
  BOOST_TEST(o.path == (std::vector<std::string>{"model", "layers", "[1]", "width"}));
  BOOST_TEST(parse_override("a/b-c_d@e.f=1").path == (std::vector<std::string>{"a/b-c_d@e", "f"}));

  // Values are YAML flow.
  BOOST_TEST(parse_override("x=3e-4").value->text() == "3e-4");
  BOOST_TEST(!parse_override("x=lstm").value->quoted());
  BOOST_TEST(parse_override("x='quoted text'").value->text() == "quoted text");
  BOOST_TEST(parse_override("x='quoted text'").value->quoted());
  BOOST_TEST(parse_override("x=null").value->is_null());
  BOOST_TEST(parse_override("x=~").value->is_null());
  o = parse_override("x=[1, [2, 3]]");
  BOOST_TEST(o.value->is_sequence());
  BOOST_TEST(*o.value == parse("[1, [2, 3]]", "want"));
  o = parse_override("x={k: v, n: 1}");
  BOOST_TEST(*o.value == parse("{k: v, n: 1}", "want"));
  BOOST_TEST(o.value->entries()[0].key_mark.str() == "<command line>:1:4");
  BOOST_TEST(o.value->find("k")->mark().str() == "<command line>:1:7");
  // An empty value is the empty string (Hydra), not null.
  o = parse_override("x=");
  BOOST_TEST(o.value->is_scalar());
  BOOST_TEST(o.value->text() == "");
  BOOST_TEST(o.value->quoted());
  BOOST_TEST(parse_override("x=a=b").value->text() == "a=b");  // only the first '=' splits
}

BOOST_AUTO_TEST_CASE(parse_errors_point_at_the_column) {
  BOOST_TEST(parse_error("model..width=1") == "<command line>:1:7: override 'model..width=1': empty key segment");
  BOOST_TEST(parse_error("model.=1") == "<command line>:1:7: override 'model.=1': empty key segment");
  BOOST_TEST(parse_error("=3") == "<command line>:1:1: override '=3': missing key (expected key=value)");
  BOOST_TEST(parse_error("++=3", 4) == "<command line>:4:3: override '++=3': missing key (expected key=value)");
  BOOST_TEST(parse_error("") == "<command line>:1:1: override '': empty override");
  BOOST_TEST(parse_error("model.width", 2) ==
             "<command line>:2:12: override 'model.width': expected '=' and a value (to remove the key: ~model.width)");
  BOOST_TEST(parse_error("a[x]=1") ==
             "<command line>:1:2: override 'a[x]=1': bad list index (expected [n] with n >= 0)");
  BOOST_TEST(parse_error("a[-1]=1") ==
             "<command line>:1:2: override 'a[-1]=1': bad list index (expected [n] with n >= 0)");
  BOOST_TEST(parse_error("a[1=1") == "<command line>:1:2: override 'a[1=1': bad list index (expected [n] with n >= 0)");
  BOOST_TEST(parse_error("a[12345678901]=1") ==
             "<command line>:1:3: override 'a[12345678901]=1': list index too large");
  BOOST_TEST(parse_error("[0]=1") ==
             "<command line>:1:1: override '[0]=1': a key must start with a name, not a list index");
  BOOST_TEST(parse_error("a b=1") == "<command line>:1:2: override 'a b=1': unexpected character ' ' in key");
  BOOST_TEST(parse_error("a[0]x=1") == "<command line>:1:5: override 'a[0]x=1': unexpected character 'x' in key");
  BOOST_TEST(parse_error("a=x: y") ==
             "<command line>:1:3: override 'a=x: y': a list or map value must use flow syntax ([...] or {...}); "
             "quote the value to pass a string");
  BOOST_TEST(parse_error("a=#x") ==
             "<command line>:1:3: override 'a=#x': the value is only a comment; quote it to pass a string");
  // Malformed YAML in the value: yaml-cpp's message and position, as a column in the argument.
  BOOST_TEST(parse_error("model.w=[1, 2", 5) ==
             "<command line>:5:9: override 'model.w=[1, 2': end of sequence flow not found");
  BOOST_TEST(parse_error("a='open") == "<command line>:1:8: override 'a='open': illegal EOF in scalar");
}

// A key of thousands of segments took minutes (the column of each segment was recomputed from the
// key's start, cubic in its length; fuzz/fuzz_spec) and built a tree deeper than any YAML file may
// nest: a key has at most 256 segments, as deep as a document may nest.
BOOST_AUTO_TEST_CASE(a_key_nests_no_deeper_than_a_document) {
  // "<first>k<segment>...<segment>=1", n segments in all
  auto override_text = [](const std::string& first, std::size_t n, const std::string& segment) {
    std::string text = first;
    text += "k";
    for (std::size_t i = 1; i < n; ++i) text += segment;
    text += "=1";
    return text;
  };
  BOOST_TEST(parse_override(override_text("+", 256, ".k")).path.size() == 256u);
  BOOST_TEST(parse_error(override_text("+", 257, ".k")).ends_with(": more than 256 segments"));
  BOOST_TEST(parse_error(override_text("", 257, "[0]")).ends_with(": more than 256 segments"));
  BOOST_TEST(parse_error(override_text("+", 3000, ".k")).ends_with(": more than 256 segments"));
  Value v = Value::map();
  apply_overrides(v, {parse_override(override_text("+", 256, ".k"))});
  BOOST_TEST(v.find("k") != nullptr);
}

BOOST_AUTO_TEST_CASE(apply_set_add_remove) {
  const Value v = applied({
      "model.width=32",              // set
      "model.layers[1].width=2",     // set through a list index
      "model.tags[0]=z",             // set a list item
      "model.layers[0]={width: 1}",  // a set replaces, it does not merge
      "+optim.momentum=0.9",         // add
      "+extra.deep.k=[1, 2]",        // add creates parent maps
      "+empty.x=1",                  // ... and fills a null
      "++optim.lr=0.1",              // set_or_add, existing
      "++optim.wd=0",                // set_or_add, new
      "~optim.name",                 // remove
      "+model.tags[2]=c",            // append at index == size
      "~model.tags[1]",              // remove a list item
      "~model.type=lstm",            // remove only if equal: equal
  });
  BOOST_TEST(at(v, "model.width").text() == "32");
  BOOST_TEST(at(v, "model.width").mark().str() == "<command line>:1:13");
  BOOST_TEST(at(v, "model.layers[1].width").text() == "2");
  BOOST_TEST(at(v, "model.layers[1].act").text() == "tanh");
  BOOST_TEST(at(v, "model.layers[0]") == parse("{width: 1}", "want"));
  BOOST_TEST(at(v, "model.tags") == parse("[z, c]", "want"));
  BOOST_TEST(at(v, "optim") == parse("{lr: 0.1, momentum: 0.9, wd: 0}", "want"));
  BOOST_TEST(v.find("optim")->keys() == (std::vector<std::string>{"lr", "momentum", "wd"}));
  BOOST_TEST(at(v, "extra") == parse("{deep: {k: [1, 2]}}", "want"));
  BOOST_TEST(at(v, "empty.x").text() == "1");
  BOOST_TEST(v.find("model")->find("type") == nullptr);
  BOOST_TEST(v.find("optim")->find_entry("momentum")->key_mark.str() == "<command line>:5:8");
  // The remove-if-equal compares canonical forms: 1e-3 equals 0.001.
  const Value w = applied({"~optim.lr=1e-3", "+a.x=1", "a.x=2"});
  BOOST_TEST(w.find("optim")->find("lr") == nullptr);
  BOOST_TEST(at(w, "a.x").text() == "2");  // overrides apply in order
}

BOOST_AUTO_TEST_CASE(each_error_kind_names_the_override) {
  BOOST_TEST(apply_error({"model.widht=3"}) ==
             "<command line>:1:7: override 'model.widht=3': key 'model.widht' not in the spec "
             "(did you mean 'model.width'?); use +model.widht=... to add it");
  BOOST_TEST(apply_error({"modle.width=3"}) ==
             "<command line>:1:1: override 'modle.width=3': key 'modle' not in the spec "
             "(did you mean 'model'?); use +modle.width=... to add it");
  BOOST_TEST(apply_error({"x.y.z=3"}) ==
             "<command line>:1:1: override 'x.y.z=3': key 'x' not in the spec; use +x.y.z=... to add it");
  BOOST_TEST(apply_error({"+optim.lr=1"}) ==
             "<command line>:1:8: override '+optim.lr=1': key 'optim.lr' is already in the spec (value 0.001); "
             "use optim.lr=... or ++optim.lr=... to set it");
  BOOST_TEST(apply_error({"~optim.mom"}) ==
             "<command line>:1:8: override '~optim.mom': key 'optim.mom' not in the spec; nothing to remove");
  BOOST_TEST(
      apply_error({"~optim.name=sgd"}) ==
      "<command line>:1:8: override '~optim.name=sgd': the value of 'optim.name' is adam, not sgd; nothing removed");
  BOOST_TEST(apply_error({"model.type.x=1"}) ==
             "<command line>:1:12: override 'model.type.x=1': 'model.type' is a scalar ('lstm'); it has no key 'x'");
  BOOST_TEST(
      apply_error({"model.layers.width=1"}) ==
      "<command line>:1:14: override 'model.layers.width=1': 'model.layers' is a list; index it like model.layers[0]");
  BOOST_TEST(apply_error({"optim[0]=1"}) ==
             "<command line>:1:6: override 'optim[0]=1': 'optim' is a map, not a list; cannot index it with [0]");
  BOOST_TEST(
      apply_error({"model.layers[5].width=1"}) ==
      "<command line>:1:13: override 'model.layers[5].width=1': index 5 out of range: 'model.layers' has 2 items");
  BOOST_TEST(apply_error({"model.tags[2]=x"}) ==
             "<command line>:1:11: override 'model.tags[2]=x': index 2 out of range: 'model.tags' has 2 items");
  BOOST_TEST(apply_error({"+model.tags[5]=x"}) ==
             "<command line>:1:12: override '+model.tags[5]=x': index 5 out of range: 'model.tags' has 2 items "
             "(+model.tags[2]=... appends)");
  BOOST_TEST(apply_error({"+model.tags[0]=x"}) ==
             "<command line>:1:12: override '+model.tags[0]=x': 'model.tags[0]' already exists; "
             "use model.tags[0]=... or ++model.tags[0]=... to set it");
  BOOST_TEST(
      apply_error({"~model.tags[0]=b"}) ==
      "<command line>:1:12: override '~model.tags[0]=b': the value of 'model.tags[0]' is a, not b; nothing removed");
}

BOOST_AUTO_TEST_CASE(problems_are_collected_and_failed_overrides_change_nothing) {
  Value v = spec();
  const std::vector<std::string> args = {"model.width=32", "+zz.y[0]=1", "optim.l=1", "+optim.lr=2", "++optim.wd=0"};
  std::vector<Override> ovs;
  for (std::size_t i = 0; i < args.size(); ++i) ovs.push_back(parse_override(args[i], static_cast<int>(i) + 1));
  try {
    apply_overrides(v, ovs);
    BOOST_FAIL("no throw");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.problems().size() == 3u);
    BOOST_TEST(e.problems()[0].mark.line == 2);  // sorted by argument
    BOOST_TEST(e.problems()[1].mark.line == 3);
    BOOST_TEST(e.problems()[2].mark.line == 4);
    BOOST_TEST(std::string(e.what()).find("'zz.y' is a map, not a list") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("did you mean 'optim.lr'?") != std::string::npos);
  }
  // The good overrides applied; the failed add left no half-made 'zz'.
  BOOST_TEST(at(v, "model.width").text() == "32");
  BOOST_TEST(at(v, "optim.wd").text() == "0");
  BOOST_TEST(v.find("zz") == nullptr);
  BOOST_TEST(at(v, "optim.lr").text() == "0.001");
}

// One key grammar for overrides and sweeps (experiment/sweep.cpp reads sweep keys with it too).
BOOST_AUTO_TEST_CASE(one_key_grammar) {
  const KeyPath k = parse_key("model.layers[1].w-2/x@y");
  BOOST_TEST(k.ok());
  BOOST_TEST(k.path == (std::vector<std::string>{"model", "layers", "[1]", "w-2/x@y"}),
             boost::test_tools::per_element());
  for (const auto& [bad, pos, why] :
       std::vector<std::tuple<std::string, std::size_t, std::string>>{{"", 0, "missing key"},
                                                                      {"model..type", 6, "empty key segment"},
                                                                      {"[0].a", 0, "must start with a name"},
                                                                      {"a[x]", 1, "bad list index"},
                                                                      {"a.b c", 3, "unexpected character ' '"},
                                                                      {"a$b", 1, "unexpected character '$'"}}) {
    const KeyPath e = parse_key(bad);
    BOOST_TEST(!e.ok(), bad);
    BOOST_TEST(e.path.empty());
    BOOST_TEST(e.error_pos == pos, bad << ": " << e.error_pos);
    BOOST_TEST(e.error.find(why) != std::string::npos, bad << ": " << e.error);
  }
  // An override reports the same problem at the same column (after its prefix).
  BOOST_TEST(parse_error("+a$b=1").find("<command line>:1:3") != std::string::npos, parse_error("+a$b=1"));
}

// A schema that knows model.{type, width, depth, dropout} (depth and dropout: defaults the file
// does not write) and, for the gru type, model.gate.
KeySchema toy_schema() {
  KeySchema s;
  s.knows = [](const Value& root, const std::vector<std::string>& path) {
    if (path.size() != 2 || path[0] != "model") return false;
    const Value* t = root.find("model") ? root.find("model")->find("type") : nullptr;
    if (path[1] == "gate") return t && t->text() == "gru";
    return path[1] == "type" || path[1] == "width" || path[1] == "depth" || path[1] == "dropout";
  };
  s.keys = [](const Value&) {
    return std::vector<std::string>{"model",    "model.type", "model.width",     "model.depth",       "optim",
                                    "optim.lr", "train",      "train.optimizer", "train.optimizer.lr"};
  };
  return s;
}

Value applied_with(const std::vector<std::string>& args, const KeySchema& schema) {
  Value v = spec();
  std::vector<Override> ovs;
  for (std::size_t i = 0; i < args.size(); ++i) ovs.push_back(parse_override(args[i], static_cast<int>(i) + 1));
  apply_overrides(v, ovs, &schema);
  return v;
}

BOOST_AUTO_TEST_CASE(a_schema_lets_a_plain_set_reach_defaults_the_file_does_not_write) {
  const KeySchema schema = toy_schema();
  const Value v = applied_with({"model.depth=3"}, schema);
  BOOST_TEST(at(v, "model.depth").text() == "3");
  BOOST_TEST(at(v, "model.width").text() == "16");  // the rest stays
  // Without the schema the same override is refused; a key the schema does not know still is.
  BOOST_TEST(error_of([] { applied({"model.depth=3"}); }).find("use +model.depth=... to add it") != std::string::npos);
  const std::string msg = error_of([&] { applied_with({"model.depht=3"}, schema); });
  BOOST_TEST(msg.find("not in the spec or its schema (did you mean 'model.depth'?)") != std::string::npos, msg);
  BOOST_TEST(msg.find("use +model.depht=... to add a key the schema does not know") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(a_new_plugin_type_replaces_the_node_and_is_applied_first) {
  const KeySchema schema = toy_schema();
  // Written after its parameter, the type still comes first; lstm's width goes with lstm.
  const Value v = applied_with({"model.gate=sigmoid", "model.type=gru"}, schema);
  BOOST_TEST(at(v, "model.type").text() == "gru");
  BOOST_TEST(at(v, "model.gate").text() == "sigmoid");
  BOOST_TEST(at(v, "model").find("width") == nullptr);
  BOOST_TEST(at(v, "model").find("layers") == nullptr);
  // The same type keeps the parameters.
  const Value same = applied_with({"model.type=lstm"}, schema);
  BOOST_TEST(at(same, "model.width").text() == "16");
  // The gate of another type is not a key of this one.
  BOOST_TEST(error_of([&] { applied_with({"model.gate=sigmoid"}, schema); }).find("key 'model.gate' not in the spec") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_hint_searches_the_whole_schema) {
  const std::vector<std::string> keys = {"train.optimizer.lr", "train.epochs", "eval.lr", "model.width"};
  BOOST_TEST(nearest_key("train.lr", keys).value_or("") == "train.optimizer.lr");
  BOOST_TEST(nearest_key("train.epoch", keys).value_or("") == "train.epochs");  // close spelling
  BOOST_TEST(!nearest_key("model.lr", keys));                                   // not from another section
  BOOST_TEST(nearest_key("lr", keys).value_or("").ends_with(".lr"));            // a top-level key: any section
  const std::string msg = error_of([] {
    const KeySchema schema = toy_schema();
    applied_with({"train.lr=1"}, schema);
  });
  BOOST_TEST(msg.find("(did you mean 'train.optimizer.lr'?)") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(commas_outside_brackets_and_quotes_make_a_multirun) {
  const Override m = parse_override("model.type=lstm, gru,cnn", 2);
  BOOST_REQUIRE_EQUAL(m.choices.size(), 3u);
  BOOST_TEST(m.choices[1].text() == "gru");
  BOOST_TEST(m.choices[1].mark().col == 18);  // where "gru" starts in the argument
  BOOST_TEST(m.value->is_sequence());
  const Override lists = parse_override("model.tags=[a,b],[c]", 1);
  BOOST_REQUIRE_EQUAL(lists.choices.size(), 2u);
  BOOST_TEST(lists.choices[0].items().size() == 2u);
  for (const char* one : {"model.tags=[a,b]", "model.type='a,b'", "optim={lr: 1, name: x}"})
    BOOST_TEST(parse_override(one, 1).choices.empty(), one);
  BOOST_TEST(error_of([] { parse_override("model.type=a,,b", 1); }).find("empty value in a comma-separated list") !=
             std::string::npos);
  // apply_overrides runs one trial: it refuses a multirun and says how to pass the string.
  const std::string msg = error_of([] { applied({"model.type=a,b"}); });
  BOOST_TEST(msg.find("is a sweep (Hydra's multirun); run it with `attnlab sweep`, or quote the value "
                      "(model.type='a,b')") != std::string::npos,
             msg);
}

BOOST_AUTO_TEST_CASE(an_include_that_changes_a_plugin_type_replaces_the_node) {
  Value base = parse("att: {type: multi_head, num_heads: 4, dropout: 0.1}\nother: {a: 1}\n", "base.yaml");
  merge(base, parse("att: {type: additive}\nother: {b: 2}\n", "over.yaml"));
  BOOST_TEST(at(base, "att.type").text() == "additive");
  BOOST_TEST(at(base, "att").find("num_heads") == nullptr);
  BOOST_TEST(at(base, "other.a").text() == "1");  // maps without a type still merge
  Value same = parse("att: {type: multi_head, num_heads: 4}\n", "base.yaml");
  merge(same, parse("att: {type: multi_head, dropout: 0.2}\n", "over.yaml"));
  BOOST_TEST(at(same, "att.num_heads").text() == "4");
  BOOST_TEST(at(same, "att.dropout").text() == "0.2");
}

BOOST_AUTO_TEST_SUITE_END()
