// The Boost.Test entry point shared by every test executable but test_ops (which has its own).
#define BOOST_TEST_MODULE attnlab
#include <boost/test/unit_test.hpp>
