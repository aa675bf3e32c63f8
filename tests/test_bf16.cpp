// --precision bf16: blas::gemm<float> with bf16 operands against a double product of the same float
// operands, for every transpose, a split over two threads, alpha and beta; double precision left
// alone; a VAE's epoch in bf16 beside the same epoch in float. Where vaekit was built without
// oneDNN or the CPU has no bf16 instructions, set_precision's refusal is what is checked.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/random.hpp"
#include "tests/vae_fixtures.hpp"

using namespace vk;

namespace {

// Sets the precision for a scope, back to float at its end (whatever a failed check throws).
struct PrecisionScope {
  explicit PrecisionScope(blas::Precision p) { blas::set_precision(p); }
  ~PrecisionScope() { blas::set_precision(blas::Precision::f32); }
};

bool bf16_runs() {
  try {
    PrecisionScope scope(blas::Precision::bf16);
    return true;
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).rfind("--precision bf16: ", 0) == 0);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    MESSAGE("bf16 refused here: " << e.what());
    return false;
  }
}

}  // namespace

TEST_CASE("bf16 gemm: within bf16's rounding of a double product, every transpose, alpha and beta") {
  if (!bf16_runs()) return;
  struct Case {
    std::size_t m, n, k;
    float alpha, beta;
  };
  // Tiny, odd (the conversion's tails), a layer of the MLP step (split over two threads), scaled.
  const Case cases[] = {{1, 1, 1, 1, 0}, {3, 5, 7, 1, 1}, {17, 33, 65, 1, 0}, {128, 400, 784, 1, 1}, {40, 300, 100, 0.5f, 2}};
  Rng rng(21);
  for (const Case& s : cases)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const int threads : {1, 2}) {
          CAPTURE(s.m); CAPTURE(s.n); CAPTURE(s.k); CAPTURE(ta); CAPTURE(tb); CAPTURE(threads);
          const std::size_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
          std::vector<float> a((ta ? s.k : s.m) * lda), b((tb ? s.n : s.k) * ldb), c(s.m * ldc);
          fill_uniform<float>(rng, a, -1.f, 1.f);
          fill_uniform<float>(rng, b, -1.f, 1.f);
          fill_uniform<float>(rng, c, -1.f, 1.f);
          // The double product, and per element the scale of its terms, sum |a||b|.
          std::vector<double> want(c.begin(), c.end()), scale(c.size(), 0.0);
          for (std::size_t i = 0; i < s.m; ++i)
            for (std::size_t j = 0; j < s.n; ++j) {
              double sum = 0, abs_sum = 0;
              for (std::size_t q = 0; q < s.k; ++q) {
                const double t = double(ta ? a[q * lda + i] : a[i * lda + q]) * double(tb ? b[j * ldb + q] : b[q * ldb + j]);
                sum += t;
                abs_sum += std::abs(t);
              }
              want[i * ldc + j] = s.alpha * sum + s.beta * want[i * ldc + j];
              scale[i * ldc + j] = std::abs(s.alpha) * abs_sum + std::abs(s.beta * c[i * ldc + j]);
            }
          const std::vector<float> before = c;
          blas::set_threads(threads);
          {
            PrecisionScope bf16(blas::Precision::bf16);
            blas::gemm<float>(ta, tb, s.m, s.n, s.k, s.alpha, a.data(), lda, b.data(), ldb, s.beta, c.data(), ldc);
          }
          blas::set_threads(1);
          // Each operand is off by at most 2^-9 of itself, a product by about 2^-8: 1e-2 leaves room
          // for float accumulation and is far below what a wrong element or transpose gives.
          double worst = 0, largest = 0;
          for (std::size_t i = 0; i < s.m; ++i)
            for (std::size_t j = 0; j < s.n; ++j) {
              const std::size_t e = i * ldc + j;
              worst = std::max(worst, std::abs(c[e] - want[e]) / scale[e]);
              largest = std::max(largest, std::abs(c[e] - want[e]));
            }
          CHECK(worst < 1e-2);
          for (std::size_t i = 0; i < s.m; ++i)  // C's padding columns are untouched
            for (std::size_t j = s.n; j < ldc; ++j) CHECK(c[i * ldc + j] == before[i * ldc + j]);
          // The products did round to bf16: float products of 784 terms are off by ~1e-6, not 1e-3.
          if (s.k == 784) CHECK(largest > 1e-4);
        }
  // A C wider than its columns (ldc > n) takes oneDNN's "gemm:jit"; the steps' dense ones "brg:avx512_core_bf16".
  CHECK(blas::bf16_implementations().find("gemm:jit") != std::string::npos);
}

TEST_CASE("bf16 leaves double precision exact and float the default") {
  CHECK(blas::precision() == blas::Precision::f32);
  CHECK(blas::parse_precision("bf16") == blas::Precision::bf16);
  CHECK_THROWS_WITH_AS(blas::parse_precision("half"), "--precision half: float or bf16 expected", std::invalid_argument);
  if (!bf16_runs()) return;
  Rng rng(4);
  std::vector<double> a(30 * 40), b(40 * 20), c(30 * 20, 0.0), want(30 * 20, 0.0);
  fill_uniform<double>(rng, a, -1.0, 1.0);
  fill_uniform<double>(rng, b, -1.0, 1.0);
  blas::gemm<double>(false, false, 30, 20, 40, 1.0, a.data(), 40, b.data(), 20, 0.0, want.data(), 20);
  PrecisionScope bf16(blas::Precision::bf16);
  blas::gemm<double>(false, false, 30, 20, 40, 1.0, a.data(), 40, b.data(), 20, 0.0, c.data(), 20);
  CHECK(c == want);
}

TEST_CASE("an epoch of a VAE in bf16: a finite loss within a percent of float's, from the same start") {
  if (!bf16_runs()) return;
  using namespace vk::vae;
  const data::ImageSet set = test_vae::blobs(512, 3);
  for (const LikelihoodKind l : {LikelihoodKind::gaussian, LikelihoodKind::bernoulli}) {
    CAPTURE(int(l));
    ModelConfig c = test_vae::small_config("vae", l);
    c.hidden = {64};
    double loss[2] = {};
    for (const bool bf16 : {false, true}) {
      const auto made = make_model<float>(c, 7);
      PrecisionScope precision(bf16 ? blas::Precision::bf16 : blas::Precision::f32);
      Trainer<float> trainer(*made, set,
                             {.batch = 32, .binarize = l == LikelihoodKind::bernoulli ? data::Binarize::dynamic
                                                                                      : data::Binarize::none});
      trainer.run_epoch();
      loss[bf16] = trainer.run_epoch().loss;
    }
    CAPTURE(loss[0]);
    CAPTURE(loss[1]);
    CHECK(std::isfinite(loss[1]));
    CHECK(loss[1] != loss[0]);  // bf16 did run
    CHECK(std::abs(loss[1] - loss[0]) <= 0.01 * std::abs(loss[0]) + 0.05);
  }
}
