// Single-precision GEMM with bfloat16 products (blas::set_precision(Precision::bf16)): both
// operands rounded to bf16 (to nearest, ties to even) into buffers kept per shape and thread,
// multiplied by oneDNN's matmul primitive with float accumulation, the float result written or
// added into C. Built where libdnnl-dev is (meson's conv_onednn); blas.cpp is its only caller.
// Like every oneDNN primitive of 2.6, each product allocates a little inside
// dnnl_primitive_execute (docs/performance.md), which is why bf16 is opt-in.
#pragma once

#include <cstddef>
#include <string>

namespace vk::onednn {

// "" where this process can run bf16 products at full speed; otherwise why not, in a few words
// (the instructions oneDNN found: without AVX512_BF16 or AMX it would emulate them, slower than float).
std::string bf16_unavailable();

// C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, row-major with leading dimensions, as blas::gemm;
// on the calling thread (one OpenMP thread), with the primitive and buffers of this shape and thread.
void gemm_bf16(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
               std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

// The implementations oneDNN picked for the products run so far, distinct, comma-separated
// (e.g. "brg:avx512_core_bf16").
std::string bf16_implementations();

// x rounded to bfloat16, to nearest with ties to even (NaN stays NaN), as the bits of a bf16.
inline unsigned short to_bf16(float x) {
  unsigned u;
  __builtin_memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<unsigned short>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<unsigned short>(u >> 16);
}

}  // namespace vk::onednn
