// Assertions on errors: the type thrown and what its message names.
#pragma once

#include "framework/core/error.h"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace attnlab::testing {

/// Checks that f throws E and that its message contains every string in `parts`.
template <class E, class F>
void expect_error(F&& f, const std::vector<std::string>& parts = {}) {
  try {
    f();
    BOOST_TEST(false, "no exception was thrown");
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) BOOST_TEST(msg.find(p) != std::string::npos, "'" << msg << "' lacks '" << p << "'");
  }
}

/// Runs f, expects an attnlab::Error and returns its message.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  BOOST_FAIL("expected an attnlab::Error");
  return {};
}

}  // namespace attnlab::testing
