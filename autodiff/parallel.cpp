#include "autodiff/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <immintrin.h>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace vk::parallel {
namespace {

// Below this many elements a loop is over before a worker could wake.
constexpr std::size_t kMinElements = std::size_t(1) << 15;
// A worker (and the caller waiting for it) spins this many pauses, about 1-2 ms, before it sleeps
// on a futex: the GEMMs of a step follow each other closely, a futex wake-up on this VM cost about
// as much as half of a small GEMM, and between two steps of an epoch (the batch, the progress
// line) 0.1-0.3 ms of spinning was too short: epochs ran 11% faster with this.
constexpr int kSpins = 1 << 16;

// Waits until a.load() != old, spinning first.
template <class T>
T wait_change(const std::atomic<T>& a, T old) {
  for (int i = 0; i < kSpins; ++i) {
    const T now = a.load(std::memory_order_acquire);
    if (now != old) return now;
    _mm_pause();
  }
  a.wait(old);
  return a.load();
}

class Pool {
 public:
  explicit Pool(int workers) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this, w] { work(std::size_t(w) + 1); });
  }
  ~Pool() {
    stop_ = true;
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void run(std::size_t n, RangeFn f, void* context) {
    n_ = n;
    f_ = f;
    context_ = context;
    pending_ = int(threads_.size());
    generation_.fetch_add(1);  // publishes n_, f_, context_ to the workers
    generation_.notify_all();
    run_part(0);
    for (int p = pending_.load(); p != 0;) p = wait_change(pending_, p);
  }

 private:
  void run_part(std::size_t part) {
    const std::size_t parts = threads_.size() + 1, chunk = (n_ + parts - 1) / parts;
    const std::size_t begin = std::min(n_, part * chunk), end = std::min(n_, begin + chunk);
    if (begin < end) f_(context_, begin, end);
  }

  void work(std::size_t part) {
    std::uint64_t seen = 0;
    for (;;) {
      seen = wait_change(generation_, seen);
      if (stop_) return;
      run_part(part);
      if (pending_.fetch_sub(1) == 1) pending_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::size_t n_ = 0;
  RangeFn f_ = nullptr;
  void* context_ = nullptr;
};

int thread_count = 1;
std::unique_ptr<Pool> pool;
// Set on a thread while it runs a part of for_tasks: the loops and GEMMs it calls stay on it.
thread_local bool in_task = false;

}  // namespace

void set_threads(int threads) {
  threads = std::max(1, threads);
  if (threads == thread_count) return;
  pool.reset();
  if (threads > 1) pool = std::make_unique<Pool>(threads - 1);
  thread_count = threads;
}

int threads() { return thread_count; }

void for_range(std::size_t n, RangeFn f, void* context) {
  if (n < kMinElements) {
    if (n) f(context, 0, n);
    return;
  }
  for_parts(n, f, context);
}

void for_range(std::size_t n, std::size_t grain, RangeFn f, void* context) {
  if (n < kMinElements || !pool || in_task) {
    if (n) f(context, 0, n);
    return;
  }
  struct Grains {
    std::size_t n, grain;
    RangeFn f;
    void* context;
  } g{n, grain, f, context};
  for_parts((n + grain - 1) / grain, [](void* c, std::size_t b, std::size_t e) {
    const auto& g = *static_cast<const Grains*>(c);
    g.f(g.context, b * g.grain, std::min(g.n, e * g.grain));
  }, &g);
}

void for_parts(std::size_t n, RangeFn f, void* context) {
  if (!pool || in_task) {
    if (n) f(context, 0, n);
    return;
  }
  pool->run(n, f, context);
}

void for_tasks(std::size_t n, void (*f)(void*, std::size_t, std::size_t), void* context) {
  if (!pool || in_task) {
    for (std::size_t t = 0; t < n; ++t) f(context, t, 0);
    return;
  }
  struct Queue {
    std::atomic<std::size_t> next{0};
    std::size_t n;
    void (*f)(void*, std::size_t, std::size_t);
    void* context;
  } q;
  q.n = n;
  q.f = f;
  q.context = context;
  for_parts(std::size_t(thread_count), [](void* c, std::size_t thread, std::size_t) {
    auto& q = *static_cast<Queue*>(c);
    in_task = true;
    for (std::size_t t; (t = q.next.fetch_add(1, std::memory_order_relaxed)) < q.n;) q.f(q.context, t, thread);
    in_task = false;
  }, &q);
}

}  // namespace vk::parallel
