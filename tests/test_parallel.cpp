// The loops split over threads: whatever the split, each element and each row's sum is computed
// by the same instructions as on one thread, so two threads give one thread's bits.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/random.hpp"
#include "autodiff/tape.hpp"

using namespace vk;

TEST_CASE("for_range with a grain covers every element once, splitting only at its multiples") {
  const std::size_t n = 100'003, grain = 64;  // above the threshold, and not a multiple of grain
  for (const int threads : {1, 2}) {
    CAPTURE(threads);
    blas::set_threads(threads);
    std::vector<int> seen(n, 0);
    std::vector<std::pair<std::size_t, std::size_t>> ranges(16);
    std::atomic<std::size_t> count{0};
    auto record = [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) ++seen[i];  // ranges are disjoint: no two threads share i
      ranges[count++] = {b, e};
    };
    parallel::for_range(n, grain, record);
    blas::set_threads(1);
    CHECK(count == std::size_t(threads));
    for (std::size_t i = 0; i < n; ++i) REQUIRE(seen[i] == 1);
    for (std::size_t r = 0; r < count; ++r) {
      CHECK(ranges[r].first % grain == 0);
      CHECK((ranges[r].second % grain == 0 || ranges[r].second == n));
    }
  }
}

TEST_CASE("for_tasks runs every task once, and what a task splits stays on its thread") {
  blas::set_threads(2);
  const std::size_t n = 64, elements = std::size_t(1) << 17;  // a range for_range would split
  std::vector<int> runs(n, 0);
  std::vector<std::size_t> thread_of(n, 99);
  std::vector<int> split(n, 0);
  auto task = [&](std::size_t t, std::size_t thread) {
    ++runs[t];
    thread_of[t] = thread;
    const auto me = std::this_thread::get_id();
    auto part = [&](std::size_t, std::size_t) { split[t] += std::this_thread::get_id() != me ? 100 : 1; };
    parallel::for_range(elements, part);
  };
  parallel::for_tasks(n, task);
  blas::set_threads(1);
  for (std::size_t t = 0; t < n; ++t) {
    CHECK(runs[t] == 1);
    CHECK(thread_of[t] < 2);
    CHECK(split[t] == 1);  // one range, on the task's own thread
  }
}

namespace {

// Values and gradients of an element-wise op and of the Bernoulli likelihood on a batch large
// enough to be split (rows and elements not multiples of any SIMD width), on `threads` threads.
std::vector<float> run(int threads, Op op) {
  blas::set_threads(threads);
  const std::size_t m = 301, d = 211;
  Rng rng(5);
  std::vector<float> lv(m * d), lg(m * d, 0.f), xv(m * d), xg(m * d, 0.f);
  fill_uniform<float>(rng, lv, -6.f, 6.f);
  fill_uniform<float>(rng, xv, 0.f, 1.f);
  Tape<float> tape;
  Var<float> l = tape.variable(lv.data(), lg.data(), m, d);
  Var<float> xs = tape.variable(xv.data(), xg.data(), m, d);
  Var<float> a = apply_unary(op, l);
  Var<float> ll = bernoulli_loglik(a, xs);
  tape.backward(sum(ll));
  blas::set_threads(1);
  std::vector<float> out(a.node().value, a.node().value + m * d);
  out.insert(out.end(), ll.node().value, ll.node().value + m);
  out.insert(out.end(), lg.begin(), lg.end());
  out.insert(out.end(), xg.begin(), xg.end());
  return out;
}

}  // namespace

TEST_CASE("element-wise ops and the Bernoulli likelihood give one thread's bits on two") {
  for (const Op op : {Op::tanh, Op::softplus, Op::relu}) {
    const std::string name = op_name(op);
    CAPTURE(name);
    const std::vector<float> one = run(1, op), two = run(2, op);
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  }
}
