// Message helpers every layer uses: "did you mean" and name lists that stay one readable line.
#include <boost/test/unit_test.hpp>

#include "framework/core/suggest.h"

#include <fmt/format.h>

#include <string>
#include <vector>

using namespace attnlab;

BOOST_AUTO_TEST_SUITE(suggest)

BOOST_AUTO_TEST_CASE(nearest_within_two_edits_ties_to_the_smallest) {
  BOOST_TEST(core::edit_distance("kitten", "sitting") == 3u);
  BOOST_TEST(core::nearest("atention", {"attention", "extractor"}).value_or("") == "attention");
  BOOST_TEST(!core::nearest("zzzzzz", {"attention", "extractor"}).has_value());
  BOOST_TEST(core::nearest("ab", {"ac", "aa"}).value_or("") == "aa");  // both one edit away
}

BOOST_AUTO_TEST_CASE(long_name_lists_are_capped) {
  BOOST_TEST(core::join_names({}) == "(none)");
  BOOST_TEST(core::join_names({"a", "b"}) == "a, b");
  std::vector<std::string> many;
  for (int i = 0; i < 3000; ++i) many.push_back(fmt::format("p{}", i));
  const std::string s = core::join_names(many);
  BOOST_TEST(s.starts_with("p0, p1, "));
  BOOST_TEST(s.ends_with("p19, ... (and 2980 more)"), s);
  BOOST_TEST(s.size() < 200u);
  BOOST_TEST(core::join_names(many, 3000).size() > 10000u);  // uncapped when asked
}

// A damaged file's header printed its raw bytes into messages (mutated-file fuzzing).
BOOST_AUTO_TEST_CASE(names_print_control_and_broken_utf8_bytes_escaped) {
  BOOST_TEST(core::printable("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");  // UTF-8 kept
  BOOST_TEST(core::printable(std::string("y\xb1x\x01\x7f", 5)) == "y\\xb1x\\x01\\x7f");
  BOOST_TEST(core::printable("\xe2\x82") == "\\xe2\\x82");  // cut sequence
  BOOST_TEST(core::join_names({"a", "b\xff"}) == "a, b\\xff");
}

BOOST_AUTO_TEST_SUITE_END()
