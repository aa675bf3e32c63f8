// gemm-bench [--threads T] [--split blocks|openblas]: the GEMM shapes of a training step (the
// 784-400-20 MLP VAE and the conv VAE at batch 128) through blas::gemm, one JSON line per shape.
// One way of threading per process, so that the other's spinning threads cannot take its cores.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"

namespace {

struct Shape {
  const char* what;
  bool ta, tb;
  std::size_t m, n, k;
};

// What vae-bench's gemms_of lists for the two models (the step's products, forward and backward).
const Shape kShapes[] = {
    {"mlp enc fwd", false, false, 128, 400, 784},   {"mlp enc wgrad", true, false, 784, 400, 128},
    {"mlp dec fwd", false, false, 128, 784, 400},   {"mlp dec dgrad", false, true, 128, 400, 784},
    {"mlp dec wgrad", true, false, 400, 784, 128},  {"conv1 fwd", false, false, 25088, 32, 16},
    {"conv1 wgrad", true, false, 16, 32, 25088},    {"conv2 fwd", false, false, 6272, 64, 512},
    {"conv2 wgrad", true, false, 512, 64, 6272},    {"conv2 dgrad", false, true, 6272, 512, 64},
    {"fc 3136 fwd", false, false, 128, 256, 3136},  {"fc 3136 wgrad", true, false, 3136, 256, 128},
    {"fc 3136 dgrad", false, true, 128, 3136, 256}, {"convT1 fwd", false, false, 6272, 512, 64},
    {"convT1 dgrad", false, true, 6272, 64, 512},   {"convT1 wgrad", true, false, 64, 512, 6272},
    {"convT2 fwd", false, false, 25088, 16, 32},    {"convT2 wgrad", true, false, 32, 16, 25088},
};

// The median of repetitions over at least `seconds`, after as long again of warm-up: an idle
// second vCPU of this VM takes tens of milliseconds to come back, whatever threads wait on it.
double median_ms(const Shape& s, std::vector<float>& a, std::vector<float>& b, std::vector<float>& c,
                 double seconds = 0.1) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> t;
  const std::size_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  for (auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end;)
    vk::blas::gemm<float>(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 1.f, c.data(), s.n);
  for (auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end || t.size() < 10;) {
    const auto start = Clock::now();
    vk::blas::gemm<float>(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 1.f, c.data(), s.n);
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  auto split = vk::blas::Split::blocks;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--split")) split = std::string(argv[i + 1]) == "openblas" ? vk::blas::Split::openblas : vk::blas::Split::blocks;
  }
  vk::blas::set_threads(threads);
  vk::blas::set_split(split);
  for (const Shape& s : kShapes) {
    std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f), c(s.m * s.n, 0.f);
    const double gflop = 2e-9 * double(s.m) * double(s.n) * double(s.k);
    std::printf("{\"shape\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"threads\": %d, \"split\": \"%s\", \"gflops\": %.1f}\n",
                s.what, s.m, s.n, s.k, threads, split == vk::blas::Split::blocks ? "blocks" : "openblas",
                gflop / median_ms(s, a, b, c) * 1e3);
  }
}
