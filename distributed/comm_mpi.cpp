// The processes of one mpirun, over MPI_COMM_WORLD.
// The C API only: Open MPI's C++ bindings (deprecated since MPI-2.2) cast function types in their
// headers and warn.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <mutex>
#include <thread>

#include "distributed/comm.hpp"

namespace vk::dist {

namespace {

int g_rank = 0, g_size = 1;
bool g_initialized = false;

// A rank that is alive but stuck (stopped, deadlocked, on a dead disk) leaves the others in their
// next collective for ever, and mpirun only notices ranks that die. A watchdog thread ends this
// rank, and with it the job, when one collective of training or evaluation has waited longer than
// VAEKIT_MPI_TIMEOUT seconds (default 600; 0: never). Barriers are not watched: there a rank
// waits, by design, for the others' whole runs of a sweep.
class Watchdog {
 public:
  void start(double seconds) {
    if (!(seconds > 0)) return;
    limit_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    thread_ = std::thread([this, seconds] { watch(seconds); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void enter() { entered_.store(std::chrono::steady_clock::now().time_since_epoch().count()); }
  void leave() { entered_.store(0); }

 private:
  void watch(double seconds) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
      const auto since = entered_.load();
      if (since == 0) continue;
      const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      if (now - since < limit_.count()) continue;
      std::fprintf(stderr,
                   "error: rank %d of %d waited over %g s in a collective for another rank (VAEKIT_MPI_TIMEOUT); "
                   "one is stuck: ending the job\n", g_rank, g_size, seconds);
      std::fflush(stderr);
      std::_Exit(3);  // mpirun ends the other ranks when one exits
    }
  }
  std::chrono::steady_clock::duration limit_{};
  std::atomic<std::chrono::steady_clock::rep> entered_{0};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};
Watchdog g_watchdog;

// Seconds a watched collective may wait: VAEKIT_MPI_TIMEOUT, or 600.
double collective_timeout() {
  const char* text = std::getenv("VAEKIT_MPI_TIMEOUT");
  if (!text || !*text) return 600;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (*end || !(seconds >= 0)) {
    std::fprintf(stderr, "error: VAEKIT_MPI_TIMEOUT must be seconds (0: no limit), not '%s'\n", text);
    std::exit(2);
  }
  return seconds;
}

struct Watched {
  Watched() { g_watchdog.enter(); }
  ~Watched() { g_watchdog.leave(); }
};

// A program started without mpirun is one process of one, and does not start MPI: Open MPI's
// singleton start costs 0.4 s of every run and every test here.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

// MPI's default handler aborts with a page of text, and a rank left alone in a collective after
// another died can wait forever: say in one line what failed and end the job.
void on_mpi_error(MPI_Comm* comm, int* code, ...) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(*code, text, &length);
  std::fprintf(stderr, "error: MPI failed on rank %d of %d: %.*s (another rank probably died)\n", g_rank, g_size,
               length, text);
  std::fflush(stderr);
  MPI_Abort(*comm, 1);
}

void check(int code) {
  if (code != MPI_SUCCESS) {
    MPI_Comm world = MPI_COMM_WORLD;
    on_mpi_error(&world, &code);
  }
}

// MPI counts are ints: large buffers go in pieces.
template <class T>
void in_pieces(std::span<T> data, auto&& call) {
  constexpr std::size_t piece = std::size_t(std::numeric_limits<int>::max()) / 2;
  for (std::size_t at = 0; at < data.size(); at += piece) {
    const std::size_t n = std::min(piece, data.size() - at);
    check(call(data.data() + at, int(n)));
  }
}

}  // namespace

Session::Session(int& argc, char**& argv) {
  if (!launched_by_mpirun()) return;
  int provided = 0;
  // Only the main thread calls MPI; the pool's threads do arithmetic.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Errhandler handler;
  MPI_Comm_create_errhandler(on_mpi_error, &handler);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_initialized = true;
  if (g_size > 1) g_watchdog.start(collective_timeout());
}

Session::~Session() {
  g_watchdog.stop();
  if (g_initialized) MPI_Finalize();
}

int world_rank() { return g_rank; }
int world_size() { return g_size; }
bool built_with_mpi() { return true; }

void broadcast(std::span<float> data, int root) {
  const Watched watched;
  if (size() > 1) in_pieces(data, [&](float* p, int n) { return MPI_Bcast(p, n, MPI_FLOAT, root, MPI_COMM_WORLD); });
}
void broadcast(std::span<double> data, int root) {
  const Watched watched;
  if (size() > 1) in_pieces(data, [&](double* p, int n) { return MPI_Bcast(p, n, MPI_DOUBLE, root, MPI_COMM_WORLD); });
}
void broadcast(std::span<std::uint8_t> data, int root) {
  const Watched watched;
  if (size() > 1)
    in_pieces(data, [&](std::uint8_t* p, int n) { return MPI_Bcast(p, n, MPI_UINT8_T, root, MPI_COMM_WORLD); });
}

void allreduce_sum(std::span<float> data) {
  const Watched watched;
  if (size() > 1)
    in_pieces(data, [](float* p, int n) { return MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); });
}
void allreduce_sum(std::span<double> data) {
  const Watched watched;
  if (size() > 1)
    in_pieces(data, [](double* p, int n) { return MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); });
}

void barrier() {
  if (size() > 1) check(MPI_Barrier(MPI_COMM_WORLD));
}

void abort_all(std::string_view program, std::string_view message, int code) {
  // Rank 0 speaks for the job; another rank waits, so that an error every rank met (a bad flag)
  // is printed once: rank 0's abort ends the others first. The wait is long because ranks start
  // apart by up to seconds on a loaded machine (300 ms lost the race under the sanitizers in CI);
  // an error only this rank met is then reported that much later, while the others wait anyway.
  if (g_rank != 0) std::this_thread::sleep_for(std::chrono::seconds(5));
  std::fprintf(stderr, "%.*s: error%s: %.*s\n", int(program.size()), program.data(),
               g_rank ? (" on rank " + std::to_string(g_rank)).c_str() : "", int(message.size()), message.data());
  std::fflush(stderr);
  if (g_initialized && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace vk::dist
