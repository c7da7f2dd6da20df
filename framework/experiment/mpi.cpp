#include "framework/experiment/mpi.h"

#include "framework/core/error.h"

#include <cstdlib>

#ifdef ATTNLAB_WITH_MPI
// The C API only: Open MPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#endif

namespace attnlab::experiment::mpi {

#ifdef ATTNLAB_WITH_MPI

namespace {

bool g_active = false;
int g_rank = 0, g_size = 1;

enum Tag : int { kRequest = 1, kReply = 2, kState = 3, kBye = 4, kQuit = 5 };

/// Rank 0's queue: a service thread answers the other ranks; local workers take from the same list.
class Coordinator : public TrialSource {
 public:
  Coordinator(std::vector<std::size_t> todo,
              std::function<void(const std::string&, store::TrialState, const std::string&)> on_state)
      : todo_(std::move(todo)), on_state_(std::move(on_state)) {
    service_ = std::thread([this] { serve(); });
  }
  ~Coordinator() override {
    if (service_.joinable()) {
      quit();
      service_.join();
    }
  }
  std::optional<std::size_t> next() override {
    std::lock_guard lock(mu_);
    if (cursor_ >= todo_.size()) return std::nullopt;
    return todo_[cursor_++];
  }
  void report(const std::string& id, store::TrialState state, const std::string& message) override {
    std::lock_guard lock(state_mu_);
    on_state_(id, state, message);
  }
  void finish() override {
    // Every other rank sends kBye once its workers are done; then the service thread may stop.
    std::unique_lock lock(mu_);
    bye_cv_.wait(lock, [&] { return byes_ == g_size - 1; });
    lock.unlock();
    quit();
    service_.join();
  }

 private:
  void quit() {
    const std::int64_t nothing = 0;
    MPI_Send(&nothing, 1, MPI_INT64_T, 0, kQuit, MPI_COMM_WORLD);
  }
  void serve() {
    for (;;) {
      MPI_Status st;
      MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      int count = 0;
      MPI_Get_count(&st, MPI_CHAR, &count);
      std::string payload(static_cast<std::size_t>(count), '\0');
      MPI_Recv(payload.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (st.MPI_TAG == kQuit) return;
      if (st.MPI_TAG == kRequest) {
        const auto n = next();
        const std::int64_t reply = n ? static_cast<std::int64_t>(*n) : -1;
        MPI_Send(&reply, 1, MPI_INT64_T, st.MPI_SOURCE, kReply, MPI_COMM_WORLD);
      } else if (st.MPI_TAG == kState) {
        const auto a = payload.find('\t'), b = payload.find('\t', a + 1);
        // The state crosses the wire by name; an unknown name (never sent) counts as running.
        report(payload.substr(0, a),
               store::parse_state(payload.substr(a + 1, b - a - 1)).value_or(store::TrialState::running),
               payload.substr(b + 1));
      } else if (st.MPI_TAG == kBye) {
        {
          std::lock_guard lock(mu_);
          ++byes_;
        }
        bye_cv_.notify_all();
      }
    }
  }

  std::vector<std::size_t> todo_;
  std::function<void(const std::string&, store::TrialState, const std::string&)> on_state_;
  std::mutex mu_, state_mu_;
  std::condition_variable bye_cv_;
  std::size_t cursor_ = 0;
  int byes_ = 0;
  std::thread service_;
};

class Client : public TrialSource {
 public:
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
    std::lock_guard lock(mu_);
    const char bye = 0;
    MPI_Send(&bye, 1, MPI_CHAR, 0, kBye, MPI_COMM_WORLD);
  }

 private:
  std::mutex mu_;
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
}

void finalize() {
  if (g_active) MPI_Finalize();
  g_active = false;
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
void finalize() {}
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
