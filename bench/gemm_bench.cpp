// gemm-bench [--threads T] [--split blocks|openblas]: the GEMM shapes of a training step (the
// 784-400-20 MLP VAE and the conv VAE at batch 128) through blas::gemm, one JSON line per shape.
// One way of threading per process, so that the other's spinning threads cannot take its cores.
// The first line is the FMA peak of the T threads (bench/fma_peak.hpp); each product's line gives its
// share of the float peak.
// gemm-bench --iw K [--threads T]: the roofline of vae-eval --iw K on that VAE: images/s of its
// products alone (per image the encoder on one row, the decoder on K), images over the T threads
// as vae-eval spreads them, each product on one thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"
#include "bench/fma_peak.hpp"
#include "bench/step_shapes.hpp"

namespace {

using Shape = vk::bench::GemmShape;

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

// The forward products of one image's estimate: encoder 784-400, heads 400-20 (mu, log sigma^2)
// on one row, decoder 20-400-784 on k rows; buffers per thread.
struct IwImage {
  explicit IwImage(std::size_t k) : k(k), x(784, 0.5f), h(400), z(k * 20, 0.1f), hk(k * 400), out(k * 784),
      w1(784 * 400, 0.01f), w2(400 * 20, 0.01f), w3(20 * 400, 0.01f), w4(400 * 784, 0.01f) {}
  void run() {
    vk::blas::gemm<float>(false, false, 1, 400, 784, 1.f, x.data(), 784, w1.data(), 400, 0.f, h.data(), 400);
    for (int head = 0; head < 2; ++head)
      vk::blas::gemm<float>(false, false, 1, 20, 400, 1.f, h.data(), 400, w2.data(), 20, 0.f, z.data(), 20);
    vk::blas::gemm<float>(false, false, k, 400, 20, 1.f, z.data(), 20, w3.data(), 400, 0.f, hk.data(), 400);
    vk::blas::gemm<float>(false, false, k, 784, 400, 1.f, hk.data(), 400, w4.data(), 784, 0.f, out.data(), 784);
  }
  std::size_t k;
  std::vector<float> x, h, z, hk, out, w1, w2, w3, w4;
};

double iw_roofline(std::size_t k, int threads) {
  using Clock = std::chrono::steady_clock;
  std::vector<IwImage> images;
  for (int t = 0; t < threads; ++t) images.emplace_back(k);
  auto one = [&](std::size_t, std::size_t thread) { images[thread].run(); };
  const std::size_t per_round = std::size_t(threads) * std::max<std::size_t>(1, 4000 / k);
  vk::parallel::for_tasks(per_round, one);  // warm-up
  std::size_t done = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(1)) {
    vk::parallel::for_tasks(per_round, one);
    done += per_round;
  }
  return double(done) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::size_t iw = 0;
  auto split = vk::blas::Split::blocks;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--split")) split = std::string(argv[i + 1]) == "openblas" ? vk::blas::Split::openblas : vk::blas::Split::blocks;
    else if (!std::strcmp(argv[i], "--iw")) iw = std::stoul(argv[i + 1]);
  }
  vk::blas::set_threads(threads);
  vk::blas::set_split(split);
  // The kernels that ran: OpenBLAS's core, or the library and version -Dblas chose instead.
  const std::string config = vk::blas::config();
  const std::string kernels = config.rfind("OpenBLAS", 0) == 0 ? vk::blas::core_name()
                                                                : config.substr(0, config.find(' ', config.find(' ') + 1));
  if (iw) {
    std::printf("{\"mode\": \"iw_roofline\", \"iw\": %zu, \"threads\": %d, \"kernels\": \"%s\", \"images_per_second\": %.1f}\n",
                iw, threads, kernels.c_str(), iw_roofline(iw, threads));
    return 0;
  }
  const vk::bench::FmaPeak peak = vk::bench::measure_fma_peak(threads);
  std::printf("{\"mode\": \"fma_peak\", \"threads\": %d, \"float256\": %.1f, \"float512\": %.1f, \"bf16\": %.1f}\n",
              threads, peak.float256, peak.float512, peak.bf16);
  for (const Shape& s : vk::bench::kStepShapes) {
    std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f), c(s.m * s.n, 0.f);
    const double gflops = 2e-9 * double(s.m) * double(s.n) * double(s.k) / median_ms(s, a, b, c) * 1e3;
    std::printf("{\"shape\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"threads\": %d, \"split\": \"%s\", "
                "\"kernels\": \"%s\", \"gflops\": %.1f, \"peak_fraction\": %.3f}\n",
                s.what, s.m, s.n, s.k, threads, split == vk::blas::Split::blocks ? "blocks" : "openblas", kernels.c_str(),
                gflops, gflops / peak.float_peak());
  }
}
