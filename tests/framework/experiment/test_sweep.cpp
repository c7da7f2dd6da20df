#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "framework/experiment/sweep.h"
#include "tests/support/expect.h"

using namespace attnlab;
using config::Mark;
using config::Value;
using experiment::expand_sweep;
using experiment::Trial;

namespace {

const auto kFile = std::make_shared<const std::string>("spec.yaml");

/// Values are built by hand (no parser): `line` gives the node a mark in "spec.yaml", column 5.
Mark at(int line) { return line ? Mark{kFile, line, 5} : Mark{}; }
Value s(std::string text, int line = 0) { return Value::scalar(std::move(text), at(line)); }

Value list(std::vector<std::string> items, int line = 0) {
  Value v = Value::sequence(at(line));
  for (auto& i : items) v.push_back(s(std::move(i), line));
  return v;
}

/// A map; each entry's key is marked at `line` (the map's line) when given.
Value map(std::vector<std::pair<std::string, Value>> entries, int line = 0) {
  Value v = Value::map(at(line));
  for (auto& [k, val] : entries) v.set(k, std::move(val), at(line));
  return v;
}

/// Adds an entry whose key sits on its own line.
Value& with(Value& m, const std::string& key, Value v, int line) {
  m.set(key, std::move(v), at(line));
  return m;
}

Value base_spec() {
  return map({
      {"model", map({{"extractor", map({{"type", s("lstm")}, {"hidden", s("64")}})},
                     {"attention", map({{"type", s("seed_self")}})},
                     {"hidden", s("32")},
                     {"layers",
                      [] {
                        Value l = Value::sequence();
                        l.push_back(map({{"width", s("8")}}));
                        l.push_back(map({{"width", s("16")}}));
                        return l;
                      }()}})},
      {"train", map({{"lr", s("0.001")}, {"batch_size", s("32")}, {"seed", s("1")}, {"dropout", s("0.1")}})},
  });
}

Value with_sweep(Value sweep) {
  Value spec = base_spec();
  spec.set("sweep", std::move(sweep), at(1));
  return spec;
}

const Value& get(const Value& v, const std::vector<std::string>& path) {
  const Value* n = &v;
  for (const auto& p : path) {
    n = n->find(p);
    BOOST_REQUIRE_MESSAGE(n, "missing " << p);
  }
  return *n;
}
std::string text(const Value& v, const std::vector<std::string>& path) { return get(v, path).text(); }

double to_double(const std::string& t) {
  double d = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), d);
  BOOST_REQUIRE_MESSAGE(r.ec == std::errc() && r.ptr == t.data() + t.size(), "not a number: " << t);
  return d;
}

/// Shortest round-trip text of d with a '.' in the mantissa (independent of the sweep's own writer).
std::string shortest_float(double d) {
  char buf[64];
  std::string t(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
  const std::size_t e = t.find('e');
  std::string mantissa = t.substr(0, e), exponent = e == std::string::npos ? "" : t.substr(e);
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  return mantissa + exponent;
}

Value random_section(const std::string& seed, const std::string& n = "8") {
  return map({{"n", s(n)},
              {"seed", s(seed)},
              {"params", map({{"train.lr", map({{"loguniform", list({"1.0e-4", "1.0e-2"})}})},
                              {"train.dropout", map({{"uniform", list({"0.0", "0.5"})}})},
                              {"model.hidden", map({{"int", list({"32", "40"})}})},
                              {"model.attention.type", map({{"choice", list({"additive", "multi_head"})}})}})}});
}

/// The full what() must name the mark (file:line:col) and the dotted path of the problem.
void expect_problem(const std::string& what, int line, const std::string& path, const std::string& fragment = {}) {
  const std::string where = fmt::format("spec.yaml:{}:5: {}", line, path);
  BOOST_TEST(what.find(where) != std::string::npos, "'" << what << "' lacks '" << where << "'");
  if (!fragment.empty())
    BOOST_TEST(what.find(fragment) != std::string::npos, "'" << what << "' lacks '" << fragment << "'");
}

std::vector<config::Problem> problems_of(const Value& spec, const experiment::Resolver& resolve = {}) {
  try {
    expand_sweep(spec, resolve);
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  BOOST_FAIL("expected a ConfigError");
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep)

BOOST_AUTO_TEST_CASE(no_sweep_gives_one_trial) {
  for (const Value& sweep : {Value::null(), map({})}) {
    const auto trials = expand_sweep(with_sweep(sweep));
    BOOST_REQUIRE_EQUAL(trials.size(), 1u);
    BOOST_TEST(trials[0].index == 0u);
    BOOST_TEST(trials[0].assignments.empty());
    BOOST_TEST(trials[0].label().empty());
    BOOST_TEST(!trials[0].spec.find("sweep"));
    BOOST_TEST((trials[0].spec == base_spec()));
  }
  const auto trials = expand_sweep(base_spec());
  BOOST_REQUIRE_EQUAL(trials.size(), 1u);
  BOOST_TEST(trials[0].id == config::hash(base_spec()).substr(0, 12));
  // Empty sections contribute no axis.
  BOOST_TEST(
      expand_sweep(with_sweep(map({{"grid", map({})}, {"zip", Value::null()}, {"seeds", Value::null()}}))).size() ==
      1u);
}

BOOST_AUTO_TEST_CASE(grid_is_a_product_with_the_first_key_slowest) {
  const auto trials =
      expand_sweep(with_sweep(map({{"grid", map({{"model.extractor.type", list({"cnn", "lstm", "transformer"})},
                                                 {"model.attention.type", list({"none", "seed_self"})}})}})));
  BOOST_REQUIRE_EQUAL(trials.size(), 6u);
  const std::vector<std::string> ex = {"cnn", "lstm", "transformer"}, att = {"none", "seed_self"};
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST(trials[i].index == i);
    BOOST_TEST(text(trials[i].spec, {"model", "extractor", "type"}) == ex[i / 2]);
    BOOST_TEST(text(trials[i].spec, {"model", "attention", "type"}) == att[i % 2]);
    BOOST_REQUIRE_EQUAL(trials[i].assignments.size(), 2u);
    BOOST_TEST(trials[i].assignments[0].first == "model.extractor.type");
    BOOST_TEST(trials[i].assignments[1].first == "model.attention.type");
    BOOST_TEST(!trials[i].spec.find("sweep"));
    // Untouched keys stay.
    BOOST_TEST(text(trials[i].spec, {"model", "extractor", "hidden"}) == "64");
  }
  BOOST_TEST(trials[3].label() == "model.extractor.type=lstm model.attention.type=seed_self");
}

BOOST_AUTO_TEST_CASE(zip_pairs_lists_into_one_axis) {
  const auto trials = expand_sweep(with_sweep(
      map({{"zip", map({{"train.lr", list({"1.0e-3", "3.0e-4"})}, {"train.batch_size", list({"32", "64"})}})}})));
  BOOST_REQUIRE_EQUAL(trials.size(), 2u);
  BOOST_TEST(text(trials[0].spec, {"train", "lr"}) == "1.0e-3");
  BOOST_TEST(text(trials[0].spec, {"train", "batch_size"}) == "32");
  BOOST_TEST(text(trials[1].spec, {"train", "lr"}) == "3.0e-4");
  BOOST_TEST(text(trials[1].spec, {"train", "batch_size"}) == "64");
  BOOST_TEST(trials[1].assignments[0].first == "train.lr");
  BOOST_TEST(trials[1].assignments[1].first == "train.batch_size");
}

BOOST_AUTO_TEST_CASE(seeds_set_train_seed_and_add_it_when_absent) {
  auto trials = expand_sweep(with_sweep(map({{"seeds", list({"1", "2", "3"})}})));
  BOOST_REQUIRE_EQUAL(trials.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(text(trials[i].spec, {"train", "seed"}) == std::to_string(i + 1));
  BOOST_TEST(trials[1].label() == "train.seed=2");

  Value spec = with_sweep(map({{"seeds", list({"7", "8"})}}));
  spec.find("train")->erase("seed");
  trials = expand_sweep(spec);
  BOOST_REQUIRE_EQUAL(trials.size(), 2u);
  BOOST_TEST(text(trials[1].spec, {"train", "seed"}) == "8");
}

BOOST_AUTO_TEST_CASE(random_samples_are_reproducible_and_within_bounds) {
  const auto a = expand_sweep(with_sweep(map({{"random", random_section("0", "64")}})));
  const auto b = expand_sweep(with_sweep(map({{"random", random_section("0", "64")}})));
  const auto c = expand_sweep(with_sweep(map({{"random", random_section("1", "64")}})));
  BOOST_REQUIRE_EQUAL(a.size(), 64u);
  BOOST_REQUIRE_EQUAL(c.size(), 64u);
  std::set<std::string> hidden, types;
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].label() == b[i].label());
    BOOST_TEST(a[i].id == b[i].id);
    differs = differs || a[i].label() != c[i].label();
    const std::string lr_text = text(a[i].spec, {"train", "lr"});
    const double lr = to_double(lr_text), dropout = to_double(text(a[i].spec, {"train", "dropout"}));
    BOOST_TEST((lr >= 1e-4 && lr <= 1e-2), lr_text);
    BOOST_TEST((dropout >= 0.0 && dropout <= 0.5));
    // Floats are written in shortest round-trip form, with a '.'.
    BOOST_TEST(lr_text == shortest_float(lr), lr_text);
    const std::string h = text(a[i].spec, {"model", "hidden"});
    const std::int64_t hv = std::stoll(h);
    BOOST_TEST((hv >= 32 && hv <= 40), h);
    BOOST_TEST(std::to_string(hv) == h);
    hidden.insert(h);
    types.insert(text(a[i].spec, {"model", "attention", "type"}));
    BOOST_REQUIRE_EQUAL(a[i].assignments.size(), 4u);
    BOOST_TEST(a[i].assignments[0].first == "train.lr");
    BOOST_TEST(a[i].assignments[3].first == "model.attention.type");
  }
  BOOST_TEST(differs, "another random.seed gives other samples");
  BOOST_TEST(hidden.size() == 9u, "int is inclusive at both ends: 32..40 all drawn in 64 samples");
  BOOST_TEST(types == (std::set<std::string>{"additive", "multi_head"}));
  // loguniform spreads over the decades: some samples below 1e-3, some above.
  std::size_t low = 0;
  for (const auto& t : a) low += to_double(text(t.spec, {"train", "lr"})) < 1e-3;
  BOOST_TEST((low > 10u && low < 54u), low);
}

BOOST_AUTO_TEST_CASE(combined_axes_follow_the_documented_order) {
  const Value sweep = map({{"seeds", list({"1", "2", "3"})},
                           {"random", random_section("5", "4")},
                           {"zip", map({{"train.batch_size", list({"32", "64"})}})},
                           {"grid", map({{"model.extractor.type", list({"cnn", "lstm", "transformer"})},
                                         {"model.extractor.hidden", list({"16", "64"})}})}});
  const auto trials = expand_sweep(with_sweep(sweep));
  BOOST_REQUIRE_EQUAL(trials.size(), 3u * 2u * 2u * 4u * 3u);
  // Random samples alone, to compare positions with.
  const auto samples = expand_sweep(with_sweep(map({{"random", random_section("5", "4")}})));
  const std::vector<std::string> ex = {"cnn", "lstm", "transformer"}, hid = {"16", "64"}, bs = {"32", "64"};
  std::set<std::string> ids;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    // index = (((ex * 2 + hid) * 2 + zip) * 4 + sample) * 3 + seed: the seeds vary fastest.
    const std::size_t seed = i % 3, sample = i / 3 % 4, zip = i / 12 % 2, h = i / 24 % 2, e = i / 48;
    const Trial& t = trials[i];
    BOOST_TEST(text(t.spec, {"train", "seed"}) == std::to_string(seed + 1));
    BOOST_TEST(text(t.spec, {"model", "extractor", "type"}) == ex[e]);
    BOOST_TEST(text(t.spec, {"model", "extractor", "hidden"}) == hid[h]);
    BOOST_TEST(text(t.spec, {"train", "batch_size"}) == bs[zip]);
    // A sample does not depend on the other axes.
    BOOST_TEST(text(t.spec, {"train", "lr"}) == text(samples[sample].spec, {"train", "lr"}));
    BOOST_TEST(text(t.spec, {"model", "hidden"}) == text(samples[sample].spec, {"model", "hidden"}));
    BOOST_REQUIRE_EQUAL(t.assignments.size(), 8u);
    const std::vector<std::string> keys = {
        "model.extractor.type", "model.extractor.hidden", "train.batch_size",     "train.lr",
        "train.dropout",        "model.hidden",           "model.attention.type", "train.seed"};
    for (std::size_t k = 0; k < keys.size(); ++k) BOOST_TEST(t.assignments[k].first == keys[k]);
    ids.insert(t.id);
  }
  BOOST_TEST(ids.size() == trials.size(), "every trial has its own id");
  BOOST_TEST(trials[0].label().starts_with("model.extractor.type=cnn model.extractor.hidden=16 train.batch_size=32 "));
  BOOST_TEST(trials[0].label().ends_with(" train.seed=1"));
  BOOST_TEST(trials[1].label().ends_with(" train.seed=2"));
}

BOOST_AUTO_TEST_CASE(ids_are_stable_and_ignore_key_order) {
  const Value sweep =
      map({{"grid", map({{"model.attention.type", list({"none", "additive"})}})}, {"seeds", list({"1", "2"})}});
  const auto a = expand_sweep(with_sweep(sweep));
  const auto b = expand_sweep(with_sweep(sweep));
  // The same spec with its top-level and train keys in another order.
  Value reordered = map({});
  const Value spec = with_sweep(sweep);
  for (auto it = spec.entries().rbegin(); it != spec.entries().rend(); ++it) reordered.set(it->key, it->value);
  Value& train = *reordered.find("train");
  Value train_rev = map({});
  for (auto it = train.entries().rbegin(); it != train.entries().rend(); ++it) train_rev.set(it->key, it->value);
  train = train_rev;
  const auto c = expand_sweep(reordered);
  BOOST_REQUIRE_EQUAL(a.size(), 4u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].id.size() == 12u);
    BOOST_TEST(a[i].id.find_first_not_of("0123456789abcdef") == std::string::npos, a[i].id);
    BOOST_TEST(a[i].id == b[i].id);
    BOOST_TEST(a[i].id == c[i].id);
    BOOST_TEST(a[i].id == config::hash(a[i].spec).substr(0, 12));
    ids.insert(a[i].id);
  }
  BOOST_TEST(ids.size() == 4u);
}

BOOST_AUTO_TEST_CASE(ids_hash_the_resolved_config) {
  // A resolver that fills a default: the id is the hash of what it returns.
  const experiment::Resolver resolve = [](const Value& spec) {
    Value r = spec;
    r.find("train")->set("epochs", s("10"));
    return r;
  };
  const auto trials = expand_sweep(with_sweep(map({{"seeds", list({"1", "2"})}})), resolve);
  BOOST_REQUIRE_EQUAL(trials.size(), 2u);
  for (const auto& t : trials) {
    BOOST_TEST(t.id == config::hash(resolve(t.spec)).substr(0, 12));
    BOOST_TEST(t.id != config::hash(t.spec).substr(0, 12));
    BOOST_TEST(!t.spec.find("train")->find("epochs"), "the trial's spec is not the resolved config");
  }
}

BOOST_AUTO_TEST_CASE(plus_adds_keys_and_paths_may_index_lists) {
  const auto trials = expand_sweep(with_sweep(map({{"grid", map({{"+model.attention.heads", list({"2", "4"})},
                                                                 {"model.layers[1].width", list({"32", "64"})},
                                                                 {"++train.epochs", list({"5"})}})}})));
  BOOST_REQUIRE_EQUAL(trials.size(), 4u);
  BOOST_TEST(text(trials[2].spec, {"model", "attention", "heads"}) == "4");
  BOOST_TEST(get(trials[1].spec, {"model", "layers"}).items()[1].find("width")->text() == "64");
  BOOST_TEST(get(trials[1].spec, {"model", "layers"}).items()[0].find("width")->text() == "8");
  BOOST_TEST(text(trials[0].spec, {"train", "epochs"}) == "5");
  BOOST_TEST(trials[3].label() == "model.attention.heads=4 model.layers[1].width=64 train.epochs=5");
  // Choices may be whole maps.
  Value choice = Value::sequence();
  choice.push_back(map({{"type", s("multi_head")}, {"heads", s("4")}}));
  const auto r = expand_sweep(with_sweep(
      map({{"random", map({{"n", s("1")}, {"params", map({{"model.attention", map({{"choice", choice}})}})}})}})));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(text(r[0].spec, {"model", "attention", "heads"}) == "4");
}

BOOST_AUTO_TEST_CASE(every_structural_problem_is_reported_at_once) {
  Value sweep = Value::map(at(2));
  with(sweep, "grdi", map({}), 3);  // unknown key, hint "grid"
  Value grid = Value::map(at(4));
  with(grid, "model.extractor.type", s("cnn", 5), 5);  // not a list
  with(grid, "model.hidden", list({}, 6), 6);          // empty list
  with(grid, "model..type", list({"a"}, 7), 7);        // malformed key
  with(grid, "train.lr", list({"0.1", "0.2"}, 8), 8);
  with(sweep, "grid", grid, 4);
  Value zip = Value::map(at(9));
  with(zip, "train.batch_size", list({"32", "64"}, 10), 10);
  with(zip, "train.dropout", list({"0.1", "0.2", "0.3"}, 11), 11);  // unequal length
  with(zip, "train.lr", list({"0.3", "0.4"}, 12), 12);              // already in grid
  with(sweep, "zip", zip, 9);
  Value params = Value::map(at(15));
  with(params, "model.attention.type", map({{"unifrom", list({"0", "1"})}}, 16), 16);      // hint "uniform"
  with(params, "model.extractor.hidden", map({{"int", list({"1.5", "8"}, 17)}}, 17), 17);  // non-integer bound
  with(params, "+train.a", map({{"loguniform", list({"0.0", "1.0"}, 18)}}, 18), 18);       // log of 0
  with(params, "+train.b", map({{"uniform", list({"2.0", "1.0"}, 19)}}, 19), 19);          // low > high
  with(params, "+train.c", map({{"choice", list({}, 20)}}, 20), 20);                       // empty choice
  with(params, "+train.d", list({"1", "2"}, 21), 21);                                      // not a distribution
  with(params, "+train.e", map({{"uniform", list({"x", "1"}, 22)}}, 22), 22);              // not a number
  Value random = Value::map(at(13));
  with(random, "n", s("0", 14), 14);    // n < 1
  with(random, "sed", s("1", 23), 23);  // unknown, hint "seed"
  with(random, "params", params, 15);
  with(sweep, "random", random, 13);
  with(sweep, "seeds", list({"1", "x"}, 24), 24);  // not an integer
  Value spec = base_spec();
  spec.set("sweep", sweep, at(2));

  const auto problems = problems_of(spec);
  const std::string what = testing::error_of([&] { expand_sweep(spec); });
  expect_problem(what, 3, "sweep.grdi", "grid");
  expect_problem(what, 5, "sweep.grid.model.extractor.type", "list");
  expect_problem(what, 6, "sweep.grid.model.hidden", "empty");
  expect_problem(what, 7, "sweep.grid.model..type", "model..type");
  expect_problem(what, 11, "sweep.zip.train.dropout", "3");
  BOOST_TEST(what.find("train.batch_size has 2") != std::string::npos, what);
  expect_problem(what, 12, "sweep.zip.train.lr", "sweep.grid.train.lr");
  expect_problem(what, 16, "sweep.random.params.model.attention.type.unifrom", "uniform");
  expect_problem(what, 17, "sweep.random.params.model.extractor.hidden.int", "integer");
  expect_problem(what, 18, "sweep.random.params.+train.a.loguniform", "0 < low");
  expect_problem(what, 19, "sweep.random.params.+train.b.uniform", "above");
  expect_problem(what, 20, "sweep.random.params.+train.c.choice", "empty");
  expect_problem(what, 21, "sweep.random.params.+train.d", "distribution");
  expect_problem(what, 22, "sweep.random.params.+train.e.uniform", "finite");
  expect_problem(what, 14, "sweep.random.n", "'0'");
  expect_problem(what, 23, "sweep.random.sed", "seed");
  expect_problem(what, 24, "sweep.seeds[1]", "'x'");
  BOOST_TEST(problems.size() == 16u, what);
}

BOOST_AUTO_TEST_CASE(missing_keys_use_the_override_messages_at_the_sweep_key) {
  Value grid = Value::map(at(3));
  with(grid, "model.extractr.type", list({"cnn"}, 4), 4);  // misspelt parent
  with(grid, "train.lrr", list({"0.1"}, 5), 5);            // misspelt leaf
  with(grid, "+train.lr", list({"0.1"}, 6), 6);            // add of an existing key
  with(grid, "model.hidden", list({"8", "16"}, 7), 7);     // fine
  Value sweep = map({});
  with(sweep, "grid", grid, 3);
  with(sweep, "zip", map({{"train.batch_size", list({"1"}, 9)}}, 9), 8);
  with(sweep, "seeds", Value::sequence(at(10)), 10);  // empty: reported together with the keys
  const std::string what = testing::error_of([&] { expand_sweep(with_sweep(sweep)); });
  expect_problem(what, 4, "sweep.grid.model.extractr.type", "extractor");
  expect_problem(what, 5, "sweep.grid.train.lrr");
  expect_problem(what, 6, "sweep.grid.+train.lr");
  expect_problem(what, 10, "sweep.seeds", "empty");
  BOOST_TEST(what.find("sweep.grid.model.hidden") == std::string::npos, what);
  BOOST_TEST(problems_of(with_sweep(sweep)).size() == 4u);
}

BOOST_AUTO_TEST_CASE(duplicate_configs_are_an_error) {
  const std::string what = testing::error_of([] {
    expand_sweep(with_sweep(map({{"seeds", list({"1", "2", "1"}, 2)}}, 2)));
  });
  BOOST_TEST(what.find("spec.yaml:2:5: sweep") != std::string::npos, what);
  BOOST_TEST(what.find("trials 0 (train.seed=1) and 2 (train.seed=1)") != std::string::npos, what);
  // Distinct values that resolve to the same config collide too.
  const experiment::Resolver drop_seed = [](const Value& spec) {
    Value r = spec;
    r.find("train")->erase("seed");
    return r;
  };
  BOOST_TEST(problems_of(with_sweep(map({{"seeds", list({"1", "2", "3"})}}, 2)), drop_seed).size() == 2u);
}

BOOST_AUTO_TEST_CASE(resolver_problems_are_collected_with_the_trial) {
  const experiment::Resolver reject_big = [](const Value& spec) {
    const Value& h = *spec.find("model")->find("hidden");
    if (std::stoi(h.text()) > 100)
      throw config::ConfigError(std::vector<config::Problem>{{h.mark(), "model.hidden", "must be at most 100"}});
    return spec;
  };
  Value values = Value::sequence(at(4));
  for (int i = 0; i < 3; ++i)
    values.push_back(Value::scalar(i == 0 ? "8" : std::to_string(100 * (i + 1)), Mark{kFile, 4, 20 + 5 * i}));
  const std::string what = testing::error_of([&] {
    expand_sweep(with_sweep(map({{"grid", map({{"model.hidden", values}})}})), reject_big);
  });
  BOOST_TEST(what.find("spec.yaml:4:25: model.hidden: must be at most 100 (in trial 1: model.hidden=200)") !=
                 std::string::npos,
             what);
  BOOST_TEST(what.find("spec.yaml:4:30: model.hidden: must be at most 100 (in trial 2: model.hidden=300)") !=
                 std::string::npos,
             what);
}

BOOST_AUTO_TEST_CASE(misuse_is_reported) {
  // Too many trials.
  Value grid = map({});
  for (const char* k : {"+a", "+b", "+c", "+d"}) {
    Value l = Value::sequence();
    for (int i = 0; i < 20; ++i) l.push_back(s(std::to_string(i)));
    grid.set(k, l);
  }
  testing::expect_error<config::ConfigError>(
      [&] {
        expand_sweep(with_sweep(map({{"grid", grid}}, 2)));
      },
      {"spec.yaml:2:5: sweep", "more than 100000 trials"});
  // seeds and grid both over train.seed; a remove key; sweep not a map; spec not a map.
  Value sweep = map({});
  with(sweep, "grid", map({{"train.seed", list({"4"}, 3)}, {"~train.lr", list({"1"}, 4)}}, 3), 3);
  with(sweep, "seeds", list({"1"}, 5), 5);
  const std::string what = testing::error_of([&] { expand_sweep(with_sweep(sweep)); });
  expect_problem(what, 5, "sweep.seeds", "already swept by sweep.grid.train.seed");
  expect_problem(what, 3, "sweep.grid.~train.lr", "remove");
  testing::expect_error<config::ConfigError>([] { expand_sweep(with_sweep(list({"1"}, 2))); },
                                             {"spec.yaml:2:5: sweep: expected a map"});
  testing::expect_error<config::ConfigError>([] { expand_sweep(s("x", 1)); }, {"spec.yaml:1:5", "map"});
  testing::expect_error<config::ConfigError>(
      [] {
        expand_sweep(with_sweep(map({{"random", map({{"params", map({})}}, 2)}})));
      },
      {"spec.yaml:2:5: sweep.random.n: missing", "sweep.random.params"});
}

BOOST_AUTO_TEST_CASE(short_labels_name_plugins_by_type_and_the_parameters_that_differ) {
  const auto parse = [](const std::string& text) { return config::parse(text, "sweep.yaml"); };
  const Value spec = parse(
      "model: {extractor: {type: lstm, hidden: 8}}\n"
      "data: {dataset: {type: synthetic, seq_len: 20}}\n"
      "train: {seed: 1}\n"
      "sweep:\n"
      "  grid:\n"
      "    data.dataset: [{type: synthetic, seq_len: 20, num_items: 400, sequences: 12000},\n"
      "                   {type: interactions, path: ratings.tsv.gz, delimiter: tab, user_col: userId}]\n"
      "    model.extractor: [{type: cnn, channels: 16, kernel_sizes: [3]}, {type: cnn, channels: 32, kernel_sizes: "
      "[3]},\n"
      "                      {type: lstm, hidden: 16}]\n"
      "  seeds: [1, 2]\n");
  const auto trials = expand_sweep(spec);
  const auto labels = short_labels(trials);
  BOOST_REQUIRE_EQUAL(labels.size(), 12u);
  BOOST_TEST(labels[0] == "data.dataset=synthetic model.extractor=cnn(channels=16) train.seed=1");
  BOOST_TEST(labels[3] == "data.dataset=synthetic model.extractor=cnn(channels=32) train.seed=2");
  BOOST_TEST(labels[4] == "data.dataset=synthetic model.extractor=lstm train.seed=1");  // one lstm: its type says it
  BOOST_TEST(labels[11] == "data.dataset=interactions model.extractor=lstm train.seed=2");
  // The complete form stays the stored one.
  BOOST_TEST(trials[0].label().find("num_items: 400") != std::string::npos, trials[0].label());
  // Capped at the width.
  BOOST_TEST(short_labels(trials, 20)[0] == "data.dataset=synt...");
}

BOOST_AUTO_TEST_SUITE_END()
