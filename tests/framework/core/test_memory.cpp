// The caching tensor allocator (size classes, reuse, the cache's bound), per-trial memory accounts,
// and flushed denormals on every thread a trial computes with (its own, its TBB workers, its
// OpenMP team).
#include "framework/core/memory.h"
#include "framework/core/tensor.h"
#include "framework/onednn/onednn.h"

#include <boost/test/unit_test.hpp>

#include <omp.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <xmmintrin.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

namespace attnlab_memory_test {

using namespace attnlab;
using core::Shape;
using core::Tensor;

BOOST_AUTO_TEST_SUITE(memory)

BOOST_AUTO_TEST_CASE(size_classes_round_up_by_at_most_a_quarter) {
  BOOST_TEST(core::size_class_bytes(1) == 64u);
  BOOST_TEST(core::size_class_bytes(64) == 64u);
  BOOST_TEST(core::size_class_bytes(65) == 128u);
  BOOST_TEST(core::size_class_bytes(1024) == 1024u);
  BOOST_TEST(core::size_class_bytes(1025) == 1280u);
  BOOST_TEST(core::size_class_bytes(2048) == 2048u);
  BOOST_TEST(core::size_class_bytes(2049) == 2560u);
  std::size_t previous = 0;
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 26); bytes = bytes * 9 / 8 + 1) {
    const std::size_t c = core::size_class_bytes(bytes);
    BOOST_TEST(c >= bytes);
    BOOST_TEST(c % 64 == 0u);
    BOOST_TEST(c >= previous);  // monotone
    if (bytes > 1024) BOOST_TEST(static_cast<double>(c) <= 1.25 * static_cast<double>(bytes) + 1);
    previous = c;
  }
}

BOOST_AUTO_TEST_CASE(a_freed_buffer_is_handed_out_again_for_its_size_class) {
  core::release_cached_memory();
  const void* first = nullptr;
  {
    const Tensor t = Tensor::empty(Shape{1000, 37});  // 148,000 bytes: class 163,840
    first = t.raw();
  }
  const auto before = core::memory_stats();
  BOOST_TEST(before.cached >= static_cast<std::int64_t>(core::size_class_bytes(148000)));
  const Tensor again = Tensor::empty(Shape{37, 1100});  // 162,800 bytes: the same class
  BOOST_TEST(again.raw() == first);
  const auto after = core::memory_stats();
  BOOST_TEST(after.reused == before.reused + 1);
  BOOST_TEST(after.cached == before.cached - static_cast<std::int64_t>(core::size_class_bytes(148000)));
  core::release_cached_memory();
  BOOST_TEST(core::memory_stats().cached == 0);
}

BOOST_AUTO_TEST_CASE(a_steady_state_loop_allocates_nothing_new) {
  // The same shapes every iteration, as a training step: after the first, every buffer is reused.
  const auto step = [] {
    std::vector<Tensor> ts;
    for (std::int64_t n : {17, 4096, 70000, 1 << 20}) ts.push_back(Tensor::zeros(Shape{n}));
    ts.push_back(ts[2].clone());
  };
  step();
  const auto before = core::memory_stats();
  for (int i = 0; i < 10; ++i) step();
  const auto after = core::memory_stats();
  BOOST_TEST(after.allocations - before.allocations == 50);
  BOOST_TEST(after.reused - before.reused == 50);
}

BOOST_AUTO_TEST_CASE(an_account_counts_the_buffers_of_its_scope_only) {
  const auto account = std::make_shared<core::MemoryAccount>();
  const Tensor outside = Tensor::empty(Shape{1 << 16});
  {
    const core::ScopedAccount scope(account);
    Tensor a = Tensor::empty(Shape{1 << 10});  // 4 KiB
    {
      const Tensor b = Tensor::empty(Shape{1 << 12});  // 16 KiB
      BOOST_TEST(account->live() == 20 * 1024);
    }
    BOOST_TEST(account->live() == 4 * 1024);
    // Another thread without the account does not charge it.
    std::thread([] { const Tensor c = Tensor::empty(Shape{1 << 14}); }).join();
    BOOST_TEST(account->live() == 4 * 1024);
  }
  BOOST_TEST(account->live() == 0);  // a is freed when the scope ends
  BOOST_TEST(account->peak() == 20 * 1024);
}

BOOST_AUTO_TEST_CASE(trial_threads_flush_denormals_and_charge_the_trial) {
  // A process linking the framework computes with denormals flushed from the start: a new thread, a
  // new arena and its workers run with the mode, and tensors the workers allocate count in the
  // trial's account.
  BOOST_TEST(core::denormals_flushed());
  std::thread([] {
    BOOST_TEST(core::denormals_flushed());
    tbb::task_arena arena(2);
    arena.execute([] {
      const auto account = std::make_shared<core::MemoryAccount>();
      const core::ScopedAccount scope(account);           // the trial's own thread, as the trainer does
      const core::TrialThreadObserver observer(account);  // the workers that join its arena
      std::atomic<int> flushed{0}, total{0};
      std::vector<Tensor> kept(64);
      tbb::parallel_for(0, 64, [&](int i) {
        kept[static_cast<std::size_t>(i)] = Tensor::empty(Shape{256});  // 1 KiB each
        volatile double spin = 0;
        for (int k = 0; k < 20000; ++k) spin = spin + 1;
        total += 1;
        flushed += core::denormals_flushed() ? 1 : 0;
      });
      BOOST_TEST(flushed.load() == total.load());
      BOOST_TEST(account->live() == 64 * 1024);
      // A denormal result is flushed to zero.
      volatile float tiny = std::numeric_limits<float>::min();
      BOOST_TEST(tiny / 4.0f == 0.0f);
      // The OpenMP team the trial's oneDNN kernels use: set_threads sets the mode on each of its
      // threads, even when the thread that creates the team runs without it.
      _mm_setcsr(_mm_getcsr() & ~0x8040u);
      onednn::set_threads(2);
      int team_flushed = 0;
#pragma omp parallel num_threads(2) reduction(+ : team_flushed)
      team_flushed += core::denormals_flushed() ? 1 : 0;
      BOOST_TEST(team_flushed == 2);
    });
  }).join();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace attnlab_memory_test
