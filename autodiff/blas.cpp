#include "autodiff/blas.hpp"

#include <cblas.h>

#include "autodiff/parallel.hpp"

#include <stdexcept>

#if defined(VK_GEMM_BF16)
#include "autodiff/gemm_bf16.hpp"
#endif

// -Dblas=blis|onednn (meson_options.txt): single precision through that library, double precision
// (the gradient checks) through OpenBLAS still, since oneDNN has no dgemm.
#if defined(VK_BLAS_BLIS)
#include <blis.h>
#elif defined(VK_BLAS_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

namespace vk::blas {

namespace {
CBLAS_TRANSPOSE flag(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

// From this many multiply-adds on (about 10 us of one core) a product is cut into blocks.
constexpr double kSplitWork = double(1 << 20);
Split mode = Split::blocks;
Precision current = Precision::f32;

void one(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
         std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
#if defined(VK_GEMM_BF16)
  if (current == Precision::bf16) return onednn::gemm_bf16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
#if defined(VK_BLAS_BLIS)
  // Strides (row ld, column 1) of the stored, row-major matrices; BLIS applies the flags to them.
  bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, dim_t(m), dim_t(n),
            dim_t(k), &alpha, const_cast<float*>(a), inc_t(lda), 1, const_cast<float*>(b), inc_t(ldb), 1, &beta, c,
            inc_t(ldc), 1);
#elif defined(VK_BLAS_ONEDNN)
  // OpenMP's thread count is per calling thread: one inside each of the pool's blocks.
  thread_local int omp_threads = 0;
  const int want = mode == Split::openblas ? parallel::threads() : 1;
  if (omp_threads != want) omp_set_num_threads(omp_threads = want);
  if (dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a,
                 dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc)) != dnnl_success)
    throw std::invalid_argument("dnnl_sgemm refused its arguments");
#else
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
#endif
}
void one(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
         std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
}

template <class T>
struct Blocks {
  bool ta, tb, by_rows;
  std::size_t m, n, k;
  T alpha;
  const T* a;
  std::size_t lda;
  const T* b;
  std::size_t ldb;
  T beta;
  T* c;
  std::size_t ldc;

  // Rows [r0, r1) of C take the same rows of op(A); columns take the same columns of op(B).
  static void part(void* context, std::size_t begin, std::size_t end) {
    const Blocks& s = *static_cast<const Blocks*>(context);
    if (s.by_rows)
      one(s.ta, s.tb, end - begin, s.n, s.k, s.alpha, s.ta ? s.a + begin : s.a + begin * s.lda, s.lda, s.b, s.ldb,
          s.beta, s.c + begin * s.ldc, s.ldc);
    else
      one(s.ta, s.tb, s.m, end - begin, s.k, s.alpha, s.a, s.lda, s.tb ? s.b + begin * s.ldb : s.b + begin, s.ldb,
          s.beta, s.c + begin, s.ldc);
  }
};

// One pool of threads serves the process (parallel.hpp): OpenBLAS runs single-threaded, and a
// product large enough is cut into one block of C's rows (or columns, when it is wider than tall)
// per thread. With both OpenBLAS's threads and the pool, each spun on the core the other needed;
// bench/gemm_bench.cpp measures the two ways on the shapes of a step.
template <class T>
void split_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  const bool split = mode != Split::openblas && parallel::threads() > 1 &&
                     double(m) * double(n) * double(k) >= kSplitWork;
  if (!split) {
    one(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  Blocks<T> s{ta, tb, m >= n, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  parallel::for_parts(s.by_rows ? m : n, &Blocks<T>::part, &s);
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
  split_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  double alpha, const double* a, std::size_t lda, const double* b,
                  std::size_t ldb, double beta, double* c, std::size_t ldc) {
  split_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void openblas_sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                    const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                    std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, flag(trans_a), flag(trans_b), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb),
              beta, c, int(ldc));
}

void set_split(Split s) {
  mode = s;
  openblas_set_num_threads(s == Split::openblas ? parallel::threads() : 1);
#if defined(VK_BLAS_BLIS)
  bli_thread_set_num_threads(s == Split::openblas ? parallel::threads() : 1);
#endif
}

std::string core_name() { return openblas_get_corename(); }
// Runs record it (config.json's "blas"): the library that runs single precision comes first.
std::string config() {
#if defined(VK_BLAS_BLIS)
  return std::string("BLIS ") + bli_info_get_version_str() + " " + bli_arch_string(bli_arch_query_id()) +
         " (double precision: " + openblas_get_config() + ")";
#elif defined(VK_BLAS_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (double precision: " + openblas_get_config() + ")";
#else
  return openblas_get_config();
#endif
}

void set_precision(Precision p) {
  if (p == Precision::bf16) {
#if defined(VK_GEMM_BF16)
    if (const std::string why = onednn::bf16_unavailable(); !why.empty())
      throw std::invalid_argument("--precision bf16: " + why);
#else
    throw std::invalid_argument("--precision bf16: vaekit was built without oneDNN (libdnnl-dev, meson's conv_onednn)");
#endif
  }
  current = p;
}
Precision precision() { return current; }

Precision parse_precision(const std::string& name) {
  if (name == "float") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument("--precision " + name + ": float or bf16 expected");
}
const char* name(Precision p) { return p == Precision::bf16 ? "bf16" : "float"; }

std::string bf16_implementations() {
#if defined(VK_GEMM_BF16)
  return onednn::bf16_implementations();
#else
  return "";
#endif
}

void set_threads(int threads) {
  parallel::set_threads(threads);
  set_split(mode);
}

}  // namespace vk::blas
