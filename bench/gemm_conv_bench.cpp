// gemm-conv-bench [--threads T] [--rounds R] [--batch N] [--only TEXT]: the products of the U-Net's and the conv
// VAE's convolutions at batch N (forward, weight gradient, data gradient), through
// conv_gemm::gemm (autodiff/gemm_conv.hpp) and blas::gemm (OpenBLAS), alternating per round: a line
// per product with each one's GFLOP/s (median over rounds of the best of 3 calls) and the ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/gemm_conv.hpp"
#include "autodiff/ops.hpp"

namespace {

struct Product {
  char what[64];
  bool ta, tb;
  std::size_t m, n, k;
};

// The three products of a convolution of geometry g (transposed: of conv_transpose2d), as
// ops_conv.cpp makes them.
void products_of(const char* name, bool transposed, const vk::ConvParams& g, std::size_t batch,
                 std::vector<Product>& out) {
  const std::size_t rows = batch * g.positions(), patch = g.patch(), n = g.out_channels;
  auto add = [&](const char* pass, bool ta, bool tb, std::size_t m, std::size_t nn, std::size_t k) {
    Product p{{}, ta, tb, m, nn, k};
    std::snprintf(p.what, sizeof p.what, "%s %s", name, pass);
    out.push_back(p);
  };
  if (!transposed) {
    add("fwd", false, false, rows, n, patch);
    add("wgrad", true, false, patch, n, rows);
    add("dgrad", false, true, rows, patch, n);
  } else {
    add("fwd", false, false, rows, patch, n);
    add("dgrad", false, true, rows, n, patch);
    add("wgrad", true, false, n, patch, rows);
  }
}

double best_ms(const Product& p, bool ours, const std::vector<float>& a, const std::vector<float>& b,
               std::vector<float>& c) {
  using Clock = std::chrono::steady_clock;
  const std::size_t lda = p.ta ? p.m : p.k, ldb = p.tb ? p.k : p.n;
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    if (ours) vk::conv_gemm::gemm<float>(p.ta, p.tb, p.m, p.n, p.k, a.data(), lda, b.data(), ldb, true, c.data(), p.n);
    else vk::blas::gemm<float>(p.ta, p.tb, p.m, p.n, p.k, 1.f, a.data(), lda, b.data(), ldb, 1.f, c.data(), p.n);
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  std::size_t batch = 128;
  const char* only = "";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::size_t(std::atoll(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];  // products whose name holds TEXT
    else {
      std::fprintf(stderr, "usage: gemm-conv-bench [--threads T] [--rounds R] [--batch N] [--only TEXT]\n");
      return 2;
    }
  }
  vk::blas::set_threads(threads);
  std::vector<Product> products;
  auto conv = [](std::uint32_t hw, std::uint32_t c, std::uint32_t oc, std::uint32_t k, std::uint32_t s, std::uint32_t p) {
    return vk::conv_geometry(hw, hw, c, oc, k, s, p);
  };
  auto up = [](std::uint32_t hw, std::uint32_t c, std::uint32_t oc) { return vk::conv_transpose_geometry(hw, hw, c, oc, 4, 2, 1); };
  // vae/denoisers.hpp's UNet<1, 28, 28, 32> (one of each shape), then the conv VAE's.
  products_of("U 28x28x1->32 k3", false, conv(28, 1, 32, 3, 1, 1), batch, products);
  products_of("U 28x28x32->32 k3", false, conv(28, 32, 32, 3, 1, 1), batch, products);
  products_of("U 28x28x32->32 k3s2", false, conv(28, 32, 32, 3, 2, 1), batch, products);
  products_of("U 14x14x32->64 k3", false, conv(14, 32, 64, 3, 1, 1), batch, products);
  products_of("U 14x14x64->64 k3", false, conv(14, 64, 64, 3, 1, 1), batch, products);
  products_of("U 7x7x64->64 k3", false, conv(7, 64, 64, 3, 1, 1), batch, products);
  products_of("U convT 7x7x64->64", true, up(7, 64, 64), batch, products);
  products_of("U 14x14x128->64 k3", false, conv(14, 128, 64, 3, 1, 1), batch, products);
  products_of("U convT 14x14x64->32", true, up(14, 64, 32), batch, products);
  products_of("U 28x28x64->32 k3", false, conv(28, 64, 32, 3, 1, 1), batch, products);
  products_of("U 28x28x64->32 k1", false, conv(28, 64, 32, 1, 1, 0), batch, products);
  products_of("U 28x28x32->1 k3", false, conv(28, 32, 1, 3, 1, 1), batch, products);
  products_of("V 28x28x1->32 k4s2", false, conv(28, 1, 32, 4, 2, 1), batch, products);
  products_of("V 14x14x32->64 k4s2", false, conv(14, 32, 64, 4, 2, 1), batch, products);
  products_of("V convT 7x7x64->32", true, up(7, 64, 32), batch, products);
  products_of("V convT 14x14x32->1", true, up(14, 32, 1), batch, products);

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::printf("%d thread(s), batch %zu, %s\n\n| product | ta tb | m n k | conv_gemm GFLOP/s | OpenBLAS GFLOP/s | ratio |\n"
              "| --- | --- | --- | ---: | ---: | ---: |\n", threads, batch, vk::blas::core_name().c_str());
  double total[2] = {0, 0};
  for (const Product& p : products) {
    if (!std::strstr(p.what, only)) continue;
    std::vector<float> a(p.m * p.k), b(p.k * p.n), c(p.m * p.n);
    for (auto* v : {&a, &b, &c})
      for (float& e : *v) e = u(rng);
    std::vector<double> ms[2];
    for (int r = 0; r < rounds; ++r)
      for (int w = 0; w < 2; ++w) {
        const bool ours = (w + r) % 2 == 0;
        ms[ours].push_back(best_ms(p, ours, a, b, c));
      }
    const double flop = 2.0 * double(p.m) * double(p.n) * double(p.k);
    const double ours = median(ms[1]), theirs = median(ms[0]);
    total[1] += ours;
    total[0] += theirs;
    std::printf("| %s | %d %d | %zu %zu %zu | %.0f | %.0f | %.2f |\n", p.what, p.ta, p.tb, p.m, p.n, p.k,
                flop / ours * 1e-6, flop / theirs * 1e-6, theirs / ours);
  }
  std::printf("\nall products: conv_gemm %.1f ms, OpenBLAS %.1f ms, ratio %.2f\n", total[1], total[0], total[0] / total[1]);
}
