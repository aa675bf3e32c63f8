// The products of the im2col convolutions (ops_conv.cpp) without BLAS's packing. Their large
// operand (an im2col matrix, an image batch, a gradient: up to 100,352 rows) meets a small one
// (the weights, or a weight-sized gradient), and OpenBLAS copied the large one into panels before
// every product: a third of the U-Net step's products went to sgemm_oncopy/otcopy. Here the large
// operands are read where they lie; only the small op(B) of an untransposed A is repacked.
#pragma once

#include <cstddef>

namespace vk::conv_gemm {

// C[m,n] = op(A)[m,k] * op(B)[k,n] (+ C if accumulate), all row-major with leading dimensions;
// op(A) = A or A^T, but not both operands transposed. Splits over parallel's pool by blocks of C,
// never by the reduction: the bits do not depend on the thread count. With --precision bf16 a
// float product goes to blas::gemm (oneDNN's bf16 matmul) instead.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, bool accumulate, T* c, std::size_t ldc);

}  // namespace vk::conv_gemm
