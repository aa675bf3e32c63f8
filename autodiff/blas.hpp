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

// What single-precision products multiply: float, or bfloat16 operands with float accumulation
// (oneDNN's matmul; C, and everything outside the products, stays float). Process-wide, for the
// products of linear layers and im2col convolutions alike; double precision is always double.
// bf16 is opt-in because each of its products allocates a little inside oneDNN 2.6 (gemm_bf16.hpp).
// set_precision(bf16) throws std::invalid_argument in one line where vaekit was built without
// oneDNN or the CPU has no bf16 instructions. Set it between steps.
enum class Precision { f32, bf16 };
void set_precision(Precision p);
Precision precision();
Precision parse_precision(const std::string& name);  // "float" | "bf16"; throws naming --precision
const char* name(Precision p);                        // "float" | "bf16"
// The implementations oneDNN chose for the bf16 products run so far ("" if none).
std::string bf16_implementations();

// The kernels OpenBLAS runs (openblas_get_corename, e.g. "Haswell") and its build
// (openblas_get_config, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64").
std::string core_name();
std::string config();

}  // namespace vk::blas
