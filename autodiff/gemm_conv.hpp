// The products of the im2col convolutions (ops_conv.cpp) without BLAS's packing. Their large
// operand (an im2col matrix, an image batch, a gradient: up to 100,352 rows) meets a small one
// (the weights, or a weight-sized gradient), and OpenBLAS copied the large one into panels before
// every product: a third of the U-Net step's products went to sgemm_oncopy/otcopy. Here the large
// operands are read where they lie; only the small op(B) of an untransposed A is repacked. Beside
// gemm, pack/rows and gemm_made let ops_conv.cpp make or consume its column matrices a block of
// rows at a time, so that they are never whole in memory either.
#pragma once

#include <cstddef>

namespace vk::conv_gemm {

// C[m,n] = op(A)[m,k] * op(B)[k,n] (+ C if accumulate), all row-major with leading dimensions;
// op(A) = A or A^T, but not both operands transposed. Splits over parallel's pool by blocks of C,
// never by the reduction: the bits do not depend on the thread count. With --precision bf16 a
// float product goes to blas::gemm (oneDNN's bf16 matmul) instead, as do both-transposed products
// and an untransposed A times fewer than half a vector of columns (the U-Net's last convolution).
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, bool accumulate, T* c, std::size_t ldc);

// Whether gemm runs the products itself (false for float under --precision bf16).
template <class T>
bool own();

// For a product whose rows are consumed a block at a time (ops_conv.cpp's col2im, which then
// never needs the whole wide C in memory): op(B) [k, n] packed into the calling thread's buffer
// (valid until its next pack), then C [m, n] = A [m, k] * op(B) for any rows of A, on the
// calling thread, each element as gemm computes it. Blocks of a multiple of block_rows(n) rows
// waste no tile.
template <class T>
const T* pack(bool trans_b, std::size_t n, std::size_t k, const T* b, std::size_t ldb);
template <class T>
void rows(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* packed, bool accumulate,
          T* c, std::size_t ldc);

// Writes rows [q0, q1) of a matrix m wide (to rows, m apart). Called from several threads at once.
template <class T>
using Fill = void (*)(const void* context, std::size_t q0, std::size_t q1, T* rows);

// gemm(true, false, m, n, k, A, m, ...) with A [k, m] never whole in memory (an im2col matrix of
// 115 MB): fill makes it a block of rows at a time into a buffer of each thread that needs it.
// The bits are gemm's. Only for the products gemm runs itself (own<T>()).
template <class T>
void gemm_made(std::size_t m, std::size_t n, std::size_t k, Fill<T> fill, const void* context, const T* b,
               std::size_t ldb, bool accumulate, T* c, std::size_t ldc);
// gemm(true, false, m, n, k, A, lda, B, n, ...) with B [k, n] made so.
template <class T>
void gemm_made_b(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, Fill<T> fill,
                 const void* context, bool accumulate, T* c, std::size_t ldc);
template <class T>
std::size_t block_rows(std::size_t n);

}  // namespace vk::conv_gemm
