// blas::gemm against a direct product, on one thread and split into blocks over two: every
// transpose flag, a split by rows (tall C) and by columns (wide C), leading dimensions wider than
// the matrices, and beta = 1 adding onto C.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/blas_core.hpp"
#include "autodiff/random.hpp"

using namespace vk;

TEST_CASE("gemm split into blocks over two threads equals the direct product") {
  struct Case {
    std::size_t m, n, k;
  };
  // Each at least the 2^20 multiply-adds from which gemm splits; tall, then wide.
  const Case cases[] = {{300, 40, 100}, {40, 300, 100}};
  Rng rng(9);
  for (const Case& s : cases)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const int threads : {1, 2}) {
          CAPTURE(s.m); CAPTURE(s.n); CAPTURE(ta); CAPTURE(tb); CAPTURE(threads);
          // op(A) is [m, k]: A is stored [m, lda] or, transposed, [k, lda]; likewise B.
          const std::size_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
          std::vector<double> a((ta ? s.k : s.m) * lda), b((tb ? s.n : s.k) * ldb), c(s.m * ldc);
          fill_uniform<double>(rng, a, -1.0, 1.0);
          fill_uniform<double>(rng, b, -1.0, 1.0);
          fill_uniform<double>(rng, c, -1.0, 1.0);
          std::vector<double> want = c;
          for (std::size_t i = 0; i < s.m; ++i)
            for (std::size_t j = 0; j < s.n; ++j) {
              double sum = 0;
              for (std::size_t q = 0; q < s.k; ++q)
                sum += (ta ? a[q * lda + i] : a[i * lda + q]) * (tb ? b[j * ldb + q] : b[q * ldb + j]);
              want[i * ldc + j] += 0.5 * sum;
            }
          blas::set_threads(threads);
          blas::gemm<double>(ta, tb, s.m, s.n, s.k, 0.5, a.data(), lda, b.data(), ldb, 1.0, c.data(), ldc);
          blas::set_threads(1);
          double worst = 0;
          for (std::size_t e = 0; e < c.size(); ++e) worst = std::max(worst, std::abs(c[e] - want[e]));
          CHECK(worst < 1e-12);  // the padding columns of C included: a block writing past its edge fails
        }
}

TEST_CASE("better_core: the kernels a CPU should run, on a table of CPUs and OpenBLAS's choices") {
  const blas::CpuFeatures sse3{};                     // an old CPU, or a VM that hides AVX
  const blas::CpuFeatures avx2{.avx2 = true, .fma = true};
  const blas::CpuFeatures avx512{.avx2 = true, .fma = true, .avx512f = true, .avx512bw = true, .avx512dq = true,
                                 .avx512vl = true};
  blas::CpuFeatures avx512_no_vl = avx512;  // e.g. Xeon Phi: AVX-512 F without BW, DQ or VL
  avx512_no_vl.avx512vl = false;
  const blas::CpuFeatures avx2_no_fma{.avx2 = true};
  struct Row {
    const char* chosen;
    blas::CpuFeatures cpu;
    const char* want;
  };
  const Row table[] = {
      // The VM of issue 13: an AVX-512 Xeon reported as a generic model.
      {"Prescott", avx512, "SkylakeX"},
      {"prescott", avx512, "SkylakeX"},
      {"Prescott", avx2, "Haswell"},
      {"Sandybridge", avx2, "Haswell"},
      {"Sandybridge", avx512, "SkylakeX"},
      {"Nehalem", avx512_no_vl, "Haswell"},
      {"Haswell", avx512, "SkylakeX"},
      {"Zen", avx512, "SkylakeX"},
      {"Excavator", avx2, "Haswell"},
      // As good as the CPU allows: nothing to do.
      {"Haswell", avx2, ""},
      {"Zen", avx2, ""},
      {"SkylakeX", avx512, ""},
      {"Cooperlake", avx512, ""},  // what OpenBLAS 0.3.21 picks on this project's AMD EPYC machine
      {"SapphireRapids", avx512, ""},
      // Never kernels the CPU lacks: AVX-512 ones die with SIGILL without it.
      {"Haswell", avx512_no_vl, ""},
      {"Prescott", sse3, ""},
      {"Prescott", avx2_no_fma, ""},
      {"Sandybridge", sse3, ""},
      // A name this table does not know: a newer OpenBLAS knows better.
      {"Zen5", avx512, ""},
      {"", avx512, ""},
  };
  for (const Row& r : table) {
    CAPTURE(r.chosen);
    CAPTURE(r.want);
    CHECK(blas::better_core(r.chosen, r.cpu) == r.want);
  }
}

TEST_CASE("weaker_core: the family a process falls back to when its kernels disagree with the reference") {
  struct Row {
    const char* core;
    const char* want;
  };
  const Row table[] = {
      {"SapphireRapids", "Cooperlake"}, {"Cooperlake", "SkylakeX"}, {"cooperlake", "SkylakeX"},
      {"SkylakeX", "Haswell"},          {"Haswell", "Sandybridge"}, {"Zen", "Sandybridge"},
      {"Sandybridge", "Nehalem"},       {"Nehalem", "Core2"},       {"Core2", "Prescott"},
      // The end of the line, an older AMD family, and names this table does not know.
      {"Prescott", ""}, {"Excavator", ""}, {"Zen5", ""}, {"", ""},
  };
  for (const Row& r : table) {
    CAPTURE(r.core);
    CHECK(blas::weaker_core(r.core) == r.want);
  }
  // Every step down ends: the line has no cycle.
  std::string core = "SapphireRapids";
  int steps = 0;
  while (!core.empty() && steps < 20) core = blas::weaker_core(core), ++steps;
  CHECK(steps == 8);
}
