// The one door to BLAS. Row-major GEMM with transpose flags, so no transposed copy is ever made.
#pragma once

#include <cstddef>
#include <string>

namespace vk::blas {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major with leading dimensions.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc);

// The same product through OpenBLAS's sgemm alone, on the calling thread's OpenBLAS, whatever library
// runs gemm<float> (-Dblas): what the check of OpenBLAS's kernels (experiments/support/blas_kernels)
// multiplies with.
void openblas_sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                    const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                    std::size_t ldc);

// Threads of the one pool (parallel.hpp) that GEMMs and large element loops split over.
void set_threads(int threads);

// How a product runs on several threads: one block of C per thread of parallel's pool, each a
// single-threaded OpenBLAS call (the default), or OpenBLAS's own threads (for comparison).
enum class Split { blocks, openblas };
void set_split(Split s);

// The kernels OpenBLAS runs (openblas_get_corename, e.g. "Haswell") and its build
// (openblas_get_config, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64").
std::string core_name();
std::string config();

}  // namespace vk::blas
