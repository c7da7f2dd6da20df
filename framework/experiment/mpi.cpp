#include "framework/experiment/mpi.h"

#include "framework/core/error.h"

#include <cstdlib>

#ifdef ATTNLAB_WITH_MPI
// The C API only: Open MPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#endif

namespace attnlab::experiment::mpi {

#ifdef ATTNLAB_WITH_MPI

namespace {

bool g_active = false;
int g_rank = 0, g_size = 1;

enum Tag : int { kRequest = 1, kReply = 2, kState = 3, kBye = 4, kBeat = 5 };

using Clock = std::chrono::steady_clock;
/// A rank says it is alive this often (a thread of its own, whatever its trials do)...
constexpr auto kBeatEvery = std::chrono::seconds(1);
/// ...and rank 0 counts it lost after this long without a word (before its first word: kFirstWord,
/// as ranks load the spec at their own pace).
constexpr auto kSilence = std::chrono::seconds(15);
constexpr auto kFirstWord = std::chrono::seconds(120);

std::atomic<bool> g_lost_ranks{false};  // rank 0 lost a rank: finalize() ends the job with MPI_Abort

bool interrupted_message(const std::string& message) { return message.starts_with("interrupted"); }

/// Rank 0's queue: a service thread answers the other ranks; local workers take from the same list.
/// The service thread polls (MPI_Iprobe) so that it also notices a rank that fell silent: a rank
/// killed with its trial is "lost", its trial is marked interrupted in the ledger, and the sweep
/// finishes without it (when Open MPI lets the other ranks live on, see mpi.h).
class Coordinator : public TrialSource {
 public:
  Coordinator(std::vector<std::size_t> todo,
              std::function<void(const std::string&, store::TrialState, const std::string&)> on_state)
      : todo_(std::move(todo)), on_state_(std::move(on_state)), ranks_(static_cast<std::size_t>(g_size)) {
    const auto now = Clock::now();
    for (auto& r : ranks_) r.last_word = now;
    service_ = std::thread([this] { serve(); });
  }
  ~Coordinator() override {
    quit_.store(true);
    if (service_.joinable()) service_.join();
  }
  std::optional<std::size_t> next() override {
    std::lock_guard lock(mu_);
    if (cursor_ >= todo_.size()) return std::nullopt;
    return todo_[cursor_++];
  }
  void report(const std::string& id, store::TrialState state, const std::string& message) override {
    record(0, id, state, message);
  }
  void finish() override {
    // Every other rank sends kBye once its workers are done, or is lost; then the service thread may stop.
    std::unique_lock lock(mu_);
    bye_cv_.wait(lock, [&] { return ended_locked() == g_size - 1; });
    lock.unlock();
    quit_.store(true);
    service_.join();
  }
  void stopping(const std::string& why) override {
    std::lock_guard state_lock(state_mu_);
    std::lock_guard lock(mu_);
    for (std::size_t r = 1; r < ranks_.size(); ++r)
      for (const auto& id : ranks_[r].running)
        on_state_(id, store::TrialState::running,
                  fmt::format("interrupted: {} while rank {} ran it; a re-run resumes it", why, r));
  }
  std::vector<std::pair<int, std::string>> lost() const override {
    std::lock_guard lock(mu_);
    std::vector<std::pair<int, std::string>> out;
    for (std::size_t r = 1; r < ranks_.size(); ++r) {
      if (!ranks_[r].lost) continue;
      if (ranks_[r].running.empty()) out.emplace_back(static_cast<int>(r), "");
      for (const auto& id : ranks_[r].running) out.emplace_back(static_cast<int>(r), id);
    }
    return out;
  }

 private:
  struct Rank {
    Clock::time_point last_word;
    bool heard = false, bye = false, lost = false;
    std::set<std::string> running;  // the trials it runs (by their ledger records)
  };

  int ended_locked() const {
    int n = 0;
    for (std::size_t r = 1; r < ranks_.size(); ++r) n += ranks_[r].bye || ranks_[r].lost;
    return n;
  }
  void record(int rank, const std::string& id, store::TrialState state, const std::string& message) {
    std::lock_guard state_lock(state_mu_);
    {
      std::lock_guard lock(mu_);
      auto& running = ranks_[static_cast<std::size_t>(rank)].running;
      if (state == store::TrialState::running && !interrupted_message(message))
        running.insert(id);
      else
        running.erase(id);
    }
    on_state_(id, state, message);
  }
  /// A rank silent for too long is lost: its trials are marked interrupted (not re-run here: were
  /// it only slow, two ranks would write one trial's files), and finish() stops waiting for it.
  void watch(Clock::time_point now) {
    struct Lost {
      std::size_t rank;
      long long silent;  // seconds
      std::vector<std::string> ids;
    };
    std::vector<Lost> newly;
    {
      std::lock_guard lock(mu_);
      for (std::size_t r = 1; r < ranks_.size(); ++r) {
        Rank& k = ranks_[r];
        if (k.bye || k.lost || now - k.last_word < (k.heard ? kSilence : kFirstWord)) continue;
        k.lost = true;
        newly.push_back({r, std::chrono::duration_cast<std::chrono::seconds>(k.heard ? kSilence : kFirstWord).count(),
                         std::vector<std::string>(k.running.begin(), k.running.end())});
      }
    }
    if (newly.empty()) return;
    g_lost_ranks.store(true);
    for (const auto& [r, silent, ids] : newly) {
      fmt::print(stderr, "attnlab: MPI rank {} is lost: no word from it for {} s (killed?){}; the other ranks go on\n",
                 r, silent, ids.empty() ? std::string() : fmt::format(" while it ran trial {}", fmt::join(ids, ", ")));
      std::fflush(stderr);
      std::lock_guard state_lock(state_mu_);
      for (const auto& id : ids)
        on_state_(id, store::TrialState::running,
                  fmt::format("interrupted: MPI rank {} was lost (no word from it for {} s) while it ran this trial; "
                              "a re-run resumes it",
                              r, silent));
    }
    bye_cv_.notify_all();
  }
  void serve() {
    while (!quit_.load()) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
      const auto now = Clock::now();
      if (!flag) {
        watch(now);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      int count = 0;
      MPI_Get_count(&st, MPI_CHAR, &count);
      std::string payload(static_cast<std::size_t>(count), '\0');
      MPI_Recv(payload.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      bool back = false;
      {
        std::lock_guard lock(mu_);
        Rank& k = ranks_[static_cast<std::size_t>(st.MPI_SOURCE)];
        k.last_word = now;
        k.heard = true;
        back = std::exchange(k.lost, false);  // it was only slow
      }
      if (back) {
        fmt::print(stderr, "attnlab: MPI rank {} answers again; it was only slow\n", st.MPI_SOURCE);
        std::fflush(stderr);
      }
      if (st.MPI_TAG == kRequest) {
        const auto n = next();
        const std::int64_t reply = n ? static_cast<std::int64_t>(*n) : -1;
        MPI_Send(&reply, 1, MPI_INT64_T, st.MPI_SOURCE, kReply, MPI_COMM_WORLD);
      } else if (st.MPI_TAG == kState) {
        const auto a = payload.find('\t'), b = payload.find('\t', a + 1);
        // The state crosses the wire by name; an unknown name (never sent) counts as running.
        record(st.MPI_SOURCE, payload.substr(0, a),
               store::parse_state(payload.substr(a + 1, b - a - 1)).value_or(store::TrialState::running),
               payload.substr(b + 1));
      } else if (st.MPI_TAG == kBye) {
        {
          std::lock_guard lock(mu_);
          ranks_[static_cast<std::size_t>(st.MPI_SOURCE)].bye = true;
        }
        bye_cv_.notify_all();
      }
    }
  }

  std::vector<std::size_t> todo_;
  std::function<void(const std::string&, store::TrialState, const std::string&)> on_state_;
  mutable std::mutex mu_;
  std::mutex state_mu_;  // serialises on_state_; taken before mu_
  std::condition_variable bye_cv_;
  std::size_t cursor_ = 0;
  std::vector<Rank> ranks_;
  std::atomic<bool> quit_{false};
  std::thread service_;
};

class Client : public TrialSource {
 public:
  Client() {
    beat_ = std::thread([this] {
      std::unique_lock lock(beat_mu_);
      while (!beat_cv_.wait_for(lock, kBeatEvery, [&] { return done_; })) {
        const char beat = 0;
        MPI_Send(&beat, 1, MPI_CHAR, 0, kBeat, MPI_COMM_WORLD);
      }
    });
  }
  ~Client() override { stop_beating(); }
  std::optional<std::size_t> next() override {
    std::lock_guard lock(mu_);  // one request in flight per rank: replies cannot cross
    const char ask = 0;
    MPI_Send(&ask, 1, MPI_CHAR, 0, kRequest, MPI_COMM_WORLD);
    std::int64_t reply = -1;
    MPI_Recv(&reply, 1, MPI_INT64_T, 0, kReply, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (reply < 0) return std::nullopt;
    return static_cast<std::size_t>(reply);
  }
  void report(const std::string& id, store::TrialState state, const std::string& message) override {
    std::lock_guard lock(mu_);
    const std::string payload = id + "\t" + std::string(store::name_of(state)) + "\t" + message;
    MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_CHAR, 0, kState, MPI_COMM_WORLD);
  }
  void finish() override {
    stop_beating();
    std::lock_guard lock(mu_);
    const char bye = 0;
    MPI_Send(&bye, 1, MPI_CHAR, 0, kBye, MPI_COMM_WORLD);
  }

 private:
  void stop_beating() {
    {
      std::lock_guard lock(beat_mu_);
      done_ = true;
    }
    beat_cv_.notify_all();
    if (beat_.joinable()) beat_.join();
  }

  std::mutex mu_, beat_mu_;
  std::condition_variable beat_cv_;
  bool done_ = false;
  std::thread beat_;
};

}  // namespace

bool built() { return true; }

void init(int* argc, char*** argv) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr && std::getenv("PMI_SIZE") == nullptr) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    throw Error("MPI: this MPI library does not provide MPI_THREAD_MULTIPLE, which distributed sweeps need");
  }
  g_active = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  // A failed send to a dead rank is not fatal to rank 0 (the coordinator counts that rank lost).
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

void finalize(int exit_code) {
  if (!g_active) return;
  g_active = false;
  if (g_lost_ranks.load()) {
    // MPI_Finalize waits for every rank, the lost one too: end the job instead (the ledger and
    // index are written; the other ranks have said goodbye).
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code == 0 ? 1 : exit_code);
  }
  MPI_Finalize();
}

bool active() { return g_active && g_size > 1; }
int rank() { return g_rank; }
int size() { return g_size; }

std::unique_ptr<TrialSource> coordinator(
    std::vector<std::size_t> todo,
    std::function<void(const std::string&, store::TrialState, const std::string&)> on_state) {
  return std::make_unique<Coordinator>(std::move(todo), std::move(on_state));
}

std::unique_ptr<TrialSource> client() { return std::make_unique<Client>(); }

#else

bool built() { return false; }
void init(int*, char***) {}
void finalize(int) {}
bool active() { return false; }
int rank() { return 0; }
int size() { return 1; }
std::unique_ptr<TrialSource> coordinator(
    std::vector<std::size_t>, std::function<void(const std::string&, store::TrialState, const std::string&)>) {
  throw Error("MPI: attnlab was built without MPI (install libopenmpi-dev and rebuild)");
}
std::unique_ptr<TrialSource> client() {
  throw Error("MPI: attnlab was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif

}  // namespace attnlab::experiment::mpi
