#include "autodiff/blas.hpp"

#include <cblas.h>

#include "autodiff/parallel.hpp"

namespace vk::blas {

namespace {
CBLAS_TRANSPOSE flag(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

void one(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
         std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
}
void one(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
         std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c,
              int(ldc));
}

// From this many multiply-adds on (about 10 us of one core) a product is cut into blocks.
constexpr double kSplitWork = double(1 << 20);
Split mode = Split::blocks;

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

void set_split(Split s) {
  mode = s;
  openblas_set_num_threads(s == Split::openblas ? parallel::threads() : 1);
}

std::string core_name() { return openblas_get_corename(); }
std::string config() { return openblas_get_config(); }

void set_threads(int threads) {
  parallel::set_threads(threads);
  set_split(mode);
}

}  // namespace vk::blas
