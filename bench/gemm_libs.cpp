// gemm-libs-{openblas [--blocks],blis,onednn} [--threads T] [--shape NAME] [--seconds S] | --list: the GEMM shapes of a
// training step and of the IW evaluation through one library, row-major with the step's transpose
// flags, one JSON line per shape. scripts/bench-gemm interleaves the three programs shape by shape.
// One library per program: OpenBLAS and BLIS both export cblas_sgemm (and sgemm_), so a process
// holding both would call whichever the loader found first, and a library's idle threads spinning
// between products could take the cores of the next library's.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <iterator>
#include <vector>

#include "bench/step_shapes.hpp"

#if defined(GEMM_LIB_OPENBLAS)
#include <cblas.h>

#include "autodiff/blas.hpp"
#elif defined(GEMM_LIB_BLIS)
#include <blis.h>
#elif defined(GEMM_LIB_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#else
#error "define GEMM_LIB_OPENBLAS, GEMM_LIB_BLIS or GEMM_LIB_ONEDNN"
#endif

namespace {

using Shape = vk::bench::GemmShape;

// gemm-bench's shapes of a step, then the decoder's products of IW evaluation (K = 1000 samples of
// one image, and 4 images at once).
std::vector<Shape> shapes() {
  std::vector<Shape> all(std::begin(vk::bench::kStepShapes), std::end(vk::bench::kStepShapes));
  all.insert(all.end(), {{"iw dec1 1000", false, false, 1000, 400, 20}, {"iw dec2 1000", false, false, 1000, 784, 400},
                         {"iw dec1 4000", false, false, 4000, 400, 20}, {"iw dec2 4000", false, false, 4000, 784, 400}});
  return all;
}

#if defined(GEMM_LIB_OPENBLAS)
const char* kLib = "openblas";
// --blocks: through vk::blas::gemm, as vaekit runs (one block of C per thread of its pool, each a
// single-threaded OpenBLAS call); otherwise OpenBLAS's own threads.
bool blocks = false;
void set_threads(int t) {
  if (blocks) vk::blas::set_threads(t);
  else openblas_set_num_threads(t);
}
std::string kernels() { return openblas_get_corename(); }
void gemm(const Shape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c) {
  if (blocks)
    vk::blas::gemm<float>(s.ta, s.tb, s.m, s.n, s.k, 1.f, a, lda, b, ldb, 1.f, c, s.n);
  else
    cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, int(s.m),
                int(s.n), int(s.k), 1.f, a, int(lda), b, int(ldb), 1.f, c, int(s.n));
}
#elif defined(GEMM_LIB_BLIS)
const char* kLib = "blis";
void set_threads(int t) { bli_thread_set_num_threads(t); }
std::string kernels() {
  return std::string(bli_arch_string(bli_arch_query_id())) + " (BLIS " + bli_info_get_version_str() + ")";
}
// BLIS takes any pair of strides: the stored matrices are row-major (row stride ld, column stride 1).
void gemm(const Shape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c) {
  float one = 1.f;
  bli_sgemm(s.ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, dim_t(s.m),
            dim_t(s.n), dim_t(s.k), &one, const_cast<float*>(a), inc_t(lda), 1, const_cast<float*>(b), inc_t(ldb), 1,
            &one, c, inc_t(s.n), 1);
}
#elif defined(GEMM_LIB_ONEDNN)
const char* kLib = "onednn";
void set_threads(int t) { omp_set_num_threads(t); }
std::string kernels() {
  const char* isa = "other";
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl_cpu_isa_avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  const dnnl_version_t* v = dnnl_version();
  return std::string(isa) + " (oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + ")";
}
void gemm(const Shape& s, const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c) {
  if (dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', dnnl_dim_t(s.m), dnnl_dim_t(s.n), dnnl_dim_t(s.k), 1.f, a,
                 dnnl_dim_t(lda), b, dnnl_dim_t(ldb), 1.f, c, dnnl_dim_t(s.n)) != dnnl_success) {
    std::fprintf(stderr, "dnnl_sgemm failed on %s\n", s.what);
    std::exit(1);
  }
}
#endif

// The median of repetitions over at least `seconds`, after as long again of warm-up: an idle
// second vCPU of this VM takes tens of milliseconds to come back.
// cpu_share: the process's CPU time over the timed loop's wall time and threads, so that a run
// that other work starved shows as such.
double median_ms(const Shape& s, double seconds, double& cpu_share, int threads) {
  using Clock = std::chrono::steady_clock;
  std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f), c(s.m * s.n, 0.f);
  const std::size_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  // Every element of the first product is k times 0.5 * 0.25, exactly in float: a library that
  // skipped part of C or read the wrong k would be timed doing other work.
  gemm(s, a.data(), lda, b.data(), ldb, c.data());
  if (std::any_of(c.begin(), c.end(), [&](float v) { return v != 0.125f * float(s.k); })) {
    std::fprintf(stderr, "%s: wrong product for %s\n", kLib, s.what);
    std::exit(1);
  }
  for (auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end;)
    gemm(s, a.data(), lda, b.data(), ldb, c.data());
  std::vector<double> t;
  const std::clock_t cpu0 = std::clock();
  const auto wall0 = Clock::now();
  for (auto end = Clock::now() + std::chrono::duration<double>(seconds); Clock::now() < end || t.size() < 10;) {
    const auto start = Clock::now();
    gemm(s, a.data(), lda, b.data(), ldb, c.data());
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  cpu_share = double(std::clock() - cpu0) / CLOCKS_PER_SEC /
              std::chrono::duration<double>(Clock::now() - wall0).count() / threads;
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  double seconds = 0.1;
  std::string only;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shape")) only = argv[i + 1];
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::stod(argv[i + 1]);
  }
#if defined(GEMM_LIB_OPENBLAS)
  for (int i = 1; i < argc; ++i) blocks = blocks || !std::strcmp(argv[i], "--blocks");
#endif
  if (argc == 2 && !std::strcmp(argv[1], "--list")) {
    for (const Shape& s : shapes()) std::printf("%s\n", s.what);
    return 0;
  }
  set_threads(threads);
  const std::string lib_kernels = kernels();
  bool found = false;
  for (const Shape& s : shapes()) {
    if (!only.empty() && only != s.what) continue;
    found = true;
    double cpu_share = 0;
    const double ms = median_ms(s, seconds, cpu_share, threads), gflop = 2e-9 * double(s.m) * double(s.n) * double(s.k);
    std::printf("{\"lib\": \"%s\", \"kernels\": \"%s\", \"shape\": \"%s\", \"ta\": %d, \"tb\": %d, \"m\": %zu, "
                "\"n\": %zu, \"k\": %zu, \"threads\": %d, \"ms\": %.4f, \"gflops\": %.2f, \"cpu_share\": %.2f}\n",
                kLib, lib_kernels.c_str(), s.what, s.ta, s.tb, s.m, s.n, s.k, threads, ms, gflop / ms * 1e3, cpu_share);
  }
  if (!found) {
    std::fprintf(stderr, "no shape named '%s'\n", only.c_str());
    return 2;
  }
}
