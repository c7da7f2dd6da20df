// The per-thread kernel cache (onednn::cached) keeps at most kMaxCachedKernels kernels, dropping the
// least recently used: shapes that vary without bound (a per-step row count) cannot grow it forever.
#include "framework/onednn/onednn.h"

#include <boost/test/unit_test.hpp>

#include <string>

namespace attnlab_kernel_cache_test {

using namespace attnlab;

struct Kernel {
  int id;
};

std::shared_ptr<Kernel> get(int id, int& built) {
  return onednn::cached<Kernel>("test-kernel:" + std::to_string(id), [&] {
    ++built;
    return Kernel{id};
  });
}

BOOST_AUTO_TEST_SUITE(kernel_cache)

BOOST_AUTO_TEST_CASE(the_least_recently_used_kernel_goes_first) {
  onednn::cache_clear();
  int built = 0;
  const int n = static_cast<int>(onednn::kMaxCachedKernels);
  for (int i = 0; i < n; ++i) get(i, built);
  BOOST_TEST(built == n);
  BOOST_TEST(onednn::cache_size() == onednn::kMaxCachedKernels);
  get(0, built);  // kernel 0 is now the most recent: kernel 1 is the oldest
  BOOST_TEST(built == n);
  get(n, built);  // one more: kernel 1 is dropped
  BOOST_TEST(onednn::cache_size() == onednn::kMaxCachedKernels);
  get(0, built);
  BOOST_TEST(built == n + 1);          // still there
  BOOST_TEST(get(1, built)->id == 1);  // rebuilt
  BOOST_TEST(built == n + 2);
  for (int i = 0; i < 3 * n; ++i) get(10 * n + i, built);
  BOOST_TEST(onednn::cache_size() == onednn::kMaxCachedKernels);
  onednn::cache_clear();
  BOOST_TEST(onednn::cache_size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_kernel_cache_test
