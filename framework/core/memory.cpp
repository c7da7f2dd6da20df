#include "framework/core/memory.h"

#include "framework/core/error.h"

#include <malloc.h>

#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace attnlab::core {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kSmallLimit = 1024;                    // classes of 64-byte steps up to here
constexpr std::size_t kSmallClasses = kSmallLimit / kAlign;  // 16
constexpr std::size_t kClasses = kSmallClasses + 4 * 64;

// glibc returns freed blocks above the mmap threshold to the OS at once; buffers too large for the
// cache then page-fault back in every time. Keep such blocks in the heap (the main arena's
// thresholds; the cache below covers every thread).
[[maybe_unused]] const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 128 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

// The main thread flushes denormals from the start (static initialisation runs on it, before TBB
// or OpenMP create a thread), so every thread the process creates inherits the mode.
[[maybe_unused]] const bool g_denormals_flushed = [] {
  flush_denormals();
  return true;
}();

/// Class index and its size for a request (bytes >= 1).
std::pair<std::size_t, std::size_t> size_class(std::size_t bytes) {
  if (bytes <= kSmallLimit) {
    const std::size_t k = (std::max<std::size_t>(bytes, 1) + kAlign - 1) / kAlign;  // 1..16
    return {k - 1, k * kAlign};
  }
  // (2^e, 2^(e+1)] in four steps of 2^(e-2): 1.25, 1.5, 1.75, 2 times 2^e.
  const std::size_t e = static_cast<std::size_t>(std::bit_width(bytes - 1)) - 1;  // 2^e < bytes <= 2^(e+1)
  const std::size_t quarter = std::size_t{1} << (e - 2);
  const std::size_t step = (bytes - (std::size_t{1} << e) + quarter - 1) / quarter;  // 1..4
  return {kSmallClasses + 4 * (e - 10) + (step - 1), (std::size_t{1} << e) + step * quarter};
}

struct Cache {
  std::mutex mu;
  std::array<std::vector<void*>, kClasses> free{};
  std::int64_t cached = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: buffers may be freed during static destruction
  return *c;
}

std::atomic<std::int64_t> g_live{0}, g_peak{0}, g_allocations{0}, g_reused{0};

void raise_peak(std::atomic<std::int64_t>& peak, std::int64_t live) {
  auto p = peak.load();
  while (live > p && !peak.compare_exchange_weak(p, live)) {}
}

thread_local std::shared_ptr<MemoryAccount> t_account;

}  // namespace

std::size_t size_class_bytes(std::size_t bytes) { return size_class(bytes).second; }

void MemoryAccount::charge(std::int64_t bytes) { raise_peak(peak_, live_.fetch_add(bytes) + bytes); }

namespace {

/// MemAvailable of /proc/meminfo in bytes (0 when unknown).
std::size_t available_memory() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

/// Allocations from this size on are checked against the free memory first: the kernel would
/// otherwise grant them and kill the process when the pages are touched (no error, no results).
constexpr std::size_t kCheckedBytes = std::size_t{256} << 20;

}  // namespace

std::shared_ptr<void> allocate_buffer(std::size_t bytes) {
  const auto [index, rounded] = size_class(bytes);
  void* p = nullptr;
  {
    Cache& c = cache();
    std::lock_guard lock(c.mu);
    auto& list = c.free[index];
    if (!list.empty()) {
      p = list.back();
      list.pop_back();
      c.cached -= static_cast<std::int64_t>(rounded);
    }
  }
  ++g_allocations;
  if (p)
    ++g_reused;
  else if (const std::size_t free = rounded >= kCheckedBytes ? available_memory() : 0; free > 0 && rounded > free)
    throw Error(
        fmt::format("tensor: out of memory: a tensor of {:.1f} GB does not fit in the {:.1f} GB this machine "
                    "has available (smaller batches or sequences, or pad_truncate, shrink it)",
                    static_cast<double>(rounded) / 1e9, static_cast<double>(free) / 1e9));
  else
    p = std::aligned_alloc(kAlign, rounded);
  if (!p) throw Error(fmt::format("tensor: out of memory allocating {} bytes", rounded));
  const auto n = static_cast<std::int64_t>(rounded);
  raise_peak(g_peak, g_live.fetch_add(n) + n);
  std::shared_ptr<MemoryAccount> account = t_account;
  if (account) account->charge(n);
  return std::shared_ptr<void>(p, [n, size_class_index = index, account = std::move(account)](void* q) {
    g_live.fetch_sub(n);
    if (account) account->refund(n);
    Cache& c = cache();
    {
      std::lock_guard lock(c.mu);
      if (c.cached + n <= kMaxCachedBytes) {
        c.free[size_class_index].push_back(q);
        c.cached += n;
        return;
      }
    }
    std::free(q);
  });
}

MemoryStats memory_stats() {
  MemoryStats s;
  s.live = g_live.load();
  s.peak = g_peak.load();
  s.allocations = g_allocations.load();
  s.reused = g_reused.load();
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  s.cached = c.cached;
  return s;
}

void release_cached_memory() {
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  for (auto& list : c.free) {
    for (void* p : list) std::free(p);
    list.clear();
    list.shrink_to_fit();
  }
  c.cached = 0;
}

ScopedAccount::ScopedAccount(const std::shared_ptr<MemoryAccount>& account) : previous_(std::move(t_account)) {
  t_account = account;
}
ScopedAccount::~ScopedAccount() { t_account = std::move(previous_); }

void flush_denormals() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(_mm_getcsr() | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
}

bool denormals_flushed() {
#if defined(__x86_64__) || defined(__i386__)
  return (_mm_getcsr() & 0x8040u) == 0x8040u;
#else
  return false;
#endif
}

TrialThreadObserver::TrialThreadObserver(std::shared_ptr<MemoryAccount> account) : account_(std::move(account)) {
  observe(true);
}
TrialThreadObserver::~TrialThreadObserver() { observe(false); }

void TrialThreadObserver::on_scheduler_entry(bool is_worker) {
  flush_denormals();
  if (is_worker) t_account = account_;
}

void TrialThreadObserver::on_scheduler_exit(bool is_worker) {
  if (is_worker) t_account.reset();
}

}  // namespace attnlab::core
