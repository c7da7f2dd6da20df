// Tensor memory: a caching allocator, accounting per trial, and the floating-point mode of compute
// threads.
//
// Caching. A training step allocates and frees the same tensor sizes every time. Handing freed
// buffers back to malloc costs page faults (glibc returns large blocks to the OS at once, and the
// TBB threads' malloc arenas trim on their own schedule: 10-22% of a step measured). Here a freed
// buffer goes onto the free list of its size class and the next allocation of that class takes it:
// after the first steps a steady-state step faults in no new page and never calls malloc.
// Size classes: multiples of 64 bytes up to 1 KiB, then four classes per power of two (so at most
// 25% of a buffer is slack). The free lists hold at most kMaxCachedBytes; a buffer freed beyond
// that goes back to malloc. release_cached_memory() empties them (between trials, in tests).
//
// Accounting. memory_stats() gives the bytes handed out now, their high-water mark and the bytes
// cached. A MemoryAccount counts the buffers allocated while it is installed on the allocating
// thread (ScopedAccount, per thread): a trial installs its own on its thread and on the worker
// threads that join its arena, so its peak is its own even with other trials in the process.
//
// Denormals. Arithmetic on denormal floats is many times slower on x86; training values drift
// into that range (a step of the seed model fell to 55% speed after ~25 steps on random labels).
// flush_denormals() sets flush-to-zero and denormals-are-zero (MXCSR) on the calling thread. The
// mode is per thread and a new thread inherits its creator's; TBB also restores, for every task,
// the mode its arena captured when it was created. So the framework sets it on the main thread at
// static initialisation (before any thread exists: every later thread and arena inherits it), and
// again where a thread may have lost it: each trial's thread, its OpenMP team
// (onednn::set_threads) and the TBB workers that join its arena (TrialThreadObserver).
#pragma once

#include <tbb/task_scheduler_observer.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace attnlab::core {

inline constexpr std::int64_t kMaxCachedBytes = std::int64_t{2} << 30;

/// At least `bytes` (64-byte aligned, rounded up to the size class). Throws attnlab::Error when the
/// system has no memory left.
std::shared_ptr<void> allocate_buffer(std::size_t bytes);

/// The size class a request of `bytes` is rounded up to.
std::size_t size_class_bytes(std::size_t bytes);

struct MemoryStats {
  std::int64_t live = 0;         ///< bytes of buffers handed out and not yet freed
  std::int64_t peak = 0;         ///< high-water mark of live since the process started
  std::int64_t cached = 0;       ///< bytes of freed buffers kept for reuse
  std::int64_t allocations = 0;  ///< buffers handed out so far
  std::int64_t reused = 0;       ///< of those, taken from the free lists
};
MemoryStats memory_stats();

/// Frees every cached buffer.
void release_cached_memory();

/// Live and peak bytes of the buffers allocated while the account was installed (thread-safe).
class MemoryAccount {
 public:
  std::int64_t live() const { return live_.load(); }
  std::int64_t peak() const { return peak_.load(); }
  void charge(std::int64_t bytes);
  void refund(std::int64_t bytes) { live_.fetch_sub(bytes); }

 private:
  std::atomic<std::int64_t> live_{0}, peak_{0};
};

/// Installs `account` on this thread for the scope (the previous one comes back after). The account
/// must outlive every buffer allocated in the scope (it is refunded when they are freed).
class ScopedAccount {
 public:
  explicit ScopedAccount(const std::shared_ptr<MemoryAccount>& account);
  ~ScopedAccount();
  ScopedAccount(const ScopedAccount&) = delete;
  ScopedAccount& operator=(const ScopedAccount&) = delete;

 private:
  std::shared_ptr<MemoryAccount> previous_;
};

/// Flush-to-zero and denormals-are-zero on the calling thread (x86 MXCSR; no-op elsewhere).
void flush_denormals();
/// True when both modes are set on the calling thread.
bool denormals_flushed();

/// Sets flush_denormals() and installs `account` (may be null) on every thread that joins the
/// arena the observer was created in (or the given one); the account is removed when it leaves.
class TrialThreadObserver : public tbb::task_scheduler_observer {
 public:
  explicit TrialThreadObserver(std::shared_ptr<MemoryAccount> account);
  ~TrialThreadObserver() override;
  void on_scheduler_entry(bool is_worker) override;
  void on_scheduler_exit(bool is_worker) override;

 private:
  std::shared_ptr<MemoryAccount> account_;
};

}  // namespace attnlab::core
