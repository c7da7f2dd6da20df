// The oneDNN layer: the only place outside framework/ops that includes <dnnl.hpp>.
//
// - one CPU engine per process, one stream per thread (streams are not thread-safe; a trial runs on
//   its own thread);
// - memory wrapping: a Tensor's buffer is handed to oneDNN without a copy;
// - `reorder_if_needed`: converts between a user layout and a primitive's chosen layout only when
//   they differ;
// - a per-thread kernel cache: primitives (and their primitive descriptors) are built once per
//   key (op, shapes, attributes) and reused on every later step. `cache_stats()` counts hits and
//   misses so tests can prove that a second training step builds nothing;
// - `guard`: turns dnnl::error into BackendError naming the op and the shapes.
//
// Threading: Debian's oneDNN runs on OpenMP. A trial calls `set_threads(n)` on its own thread
// before any oneDNN work; OpenMP's thread count is per calling thread, so trials running side by
// side each get their own budget.
#pragma once

#include "framework/core/error.h"
#include "framework/core/tensor.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace attnlab::onednn {

using core::Shape;
using core::Tensor;
using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine();
/// This thread's stream.
dnnl::stream& stream();

/// Sets the number of OpenMP threads oneDNN uses for primitives run from the calling thread.
void set_threads(int n);

/// How OpenMP threads wait between kernels. libgomp reads OMP_WAIT_POLICY once, when the program
/// loads. Its default spins, which is fastest on cores the trial has to itself (2 threads, idle
/// machine: seed 1205 samples/s spinning, 633 passive) and a crawl when another process holds one
/// of them (a small 2-thread trial: 9.0 s spinning, 1.4 s passive). So for `run` and `sweep`,
/// unless the user chose a policy: when other processes keep at least half a core busy
/// (busy_cores()), set OMP_WAIT_POLICY=passive and re-execute the program (same pid, arguments,
/// environment otherwise) so that libgomp sees it. Call first thing in main(). Returns when the
/// policy is in place, or the default is kept (idle cores, another command, exec failed). `tune`
/// measures once, before its trials start, and passes the verdict to them through the environment
/// (ATTNLAB_WAIT_POLICY_MEASURED, and OMP_WAIT_POLICY=passive when shared): each trial measuring for
/// itself would take its sibling trials for neighbours and spin down.
void choose_wait_policy(int argc, char** argv);
/// Cores kept busy by every process over `window` (this one sleeps meanwhile), from /proc/stat:
/// busy share of all CPU time x CPUs, in [0, CPUs]; -1 when /proc/stat cannot be read.
double busy_cores(int window_ms);
/// "passive", "active" or "" (libgomp's default), as this process runs with it (for /env).
std::string wait_policy();
int threads();

dt to_dnnl(core::DType t);
dims to_dims(const Shape& s);
/// Plain row-major descriptor of a shape (a scalar becomes [1]).
dnnl::memory::desc plain_md(const Shape& s, dt type = dt::f32);
/// Descriptor with explicit strides (in elements), e.g. for transposed operands.
dnnl::memory::desc strided_md(const dims& d, const dims& strides, dt type = dt::f32);
/// Wraps a tensor's buffer (no copy). The tensor must outlive the memory's use.
dnnl::memory wrap(const Tensor& t, const dnnl::memory::desc& md);
dnnl::memory wrap(const Tensor& t);
/// A buffer of `md.get_size()` bytes from attnlab's allocator (for workspaces and primitive-chosen
/// layouts); the returned tensor owns the memory.
std::pair<Tensor, dnnl::memory> alloc(const dnnl::memory::desc& md);
/// Returns `m` when it already has layout `want`; otherwise reorders it into a new buffer, kept
/// alive by `keep`.
dnnl::memory reorder_if_needed(const dnnl::memory& m, const dnnl::memory::desc& want, Tensor& keep);
/// Copies src into dst (layouts may differ), via a cached reorder primitive.
void reorder(const dnnl::memory& src, const dnnl::memory& dst);

/// Executes on this thread's stream and waits. A dnnl::error becomes BackendError naming the primitive kind.
void execute(const dnnl::primitive& p, const std::unordered_map<int, dnnl::memory>& args);

/// Runs `f`, turning dnnl::error into BackendError(op, "<status>: <what> for <context>").
template <class F>
decltype(auto) guard(std::string_view op, const std::string& context, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const dnnl::error& e) {
    throw BackendError(std::string(op),
                       fmt::format("{} (status {}) for {}", e.what(), static_cast<int>(e.status), context));
  }
}

struct CacheStats {
  std::int64_t hits = 0;
  std::int64_t misses = 0;
};
/// Process-wide totals over all threads.
CacheStats cache_stats();
/// Kernels a thread keeps; beyond that the least recently used one is dropped (shapes that vary
/// without bound, e.g. a per-step row count, must not grow the cache without bound).
inline constexpr std::size_t kMaxCachedKernels = 1024;
/// Number of kernels in the calling thread's cache.
std::size_t cache_size();
/// Empties the calling thread's cache.
void cache_clear();

namespace detail {
std::shared_ptr<void>* cache_slot(const std::string& key);
void count(bool hit);
}  // namespace detail

/// Returns this thread's kernel for `key`, building it with `make()` (returning K) on first use.
template <class K, class Make>
std::shared_ptr<K> cached(const std::string& key, Make&& make) {
  std::shared_ptr<void>* slot = detail::cache_slot(key);
  if (*slot) {
    detail::count(true);
    return std::static_pointer_cast<K>(*slot);
  }
  detail::count(false);
  auto k = std::make_shared<K>(make());
  *slot = k;
  return k;
}

}  // namespace attnlab::onednn
