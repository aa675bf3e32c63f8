// The register tiles of gemm_conv.cpp's products: C's tile in vector registers, A broadcast a
// row at a time, and the tables that pick a tile's kernel by its rows and vectors. Included by
// gemm_conv.cpp alone.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include <xsimd/xsimd.hpp>

namespace vk::conv_gemm::tiles {

template <class T>
using Vec = xsimd::batch<T>;
// Tiles of C are held in vector registers: 32 of them with AVX-512, 16 below it.
template <class T>
constexpr int kRegisters = sizeof(Vec<T>) >= 64 ? 32 : 16;
constexpr int kMaxVectors = 4;  // a tile's width in vectors
constexpr int kMaxRows = 12;
// A tile of R rows by V vectors keeps R*V accumulators, V loaded vectors and a broadcast.
template <class T>
constexpr int max_rows(int v) {
  return std::max(1, std::min(kMaxRows, (kRegisters<T> - 2 - v) / v));
}
// The reduction of an outer-product tile runs in blocks of kDepth rows of both operands, over
// chunks of C of at most kChunkRows x kChunkCols: the operands' blocks stay in L2 while every
// tile of the chunk takes them, instead of streaming the whole operands once per tile.
constexpr std::size_t kDepth = 256, kChunkRows = 384, kChunkCols = 256;
constexpr std::size_t kAhead = 16;  // rows of the outer product's operands prefetched ahead

// Writes a tile's `cols` first columns (of V vectors) to a row of C at stride `step` between
// columns, adding what C held if `add`.
template <class T, int V>
[[gnu::always_inline]] inline void put_row(const Vec<T> (&acc)[V], T* c, std::size_t step, std::size_t cols,
                                           bool add) {
  constexpr std::size_t L = Vec<T>::size;
  if (step == 1 && cols == V * L) {  // the tiles inside C
    for (int v = 0; v < V; ++v) (add ? Vec<T>::load_unaligned(c + v * L) + acc[v] : acc[v]).store_unaligned(c + v * L);
    return;
  }
  for (int v = 0; v < V; ++v) {
    const std::size_t j = std::size_t(v) * L;
    if (j >= cols) break;
    if (step == 1 && j + L <= cols) {
      (add ? Vec<T>::load_unaligned(c + j) + acc[v] : acc[v]).store_unaligned(c + j);
      continue;
    }
    alignas(64) T part[L];
    acc[v].store_aligned(part);
    for (std::size_t e = 0; e < std::min(L, cols - j); ++e) {
      T& to = c[(j + e) * step];
      to = add ? to + part[e] : part[e];
    }
  }
}

template <class T, int V>
[[gnu::always_inline]] inline void get_row(Vec<T> (&acc)[V], const T* c, std::size_t step, std::size_t cols) {
  constexpr std::size_t L = Vec<T>::size;
  for (int v = 0; v < V; ++v) {
    const std::size_t j = std::size_t(v) * L;
    if (step == 1 && j + L <= cols) {
      acc[v] = Vec<T>::load_unaligned(c + j);
      continue;
    }
    alignas(64) T part[L] = {};
    for (std::size_t e = 0; j + e < cols && e < L; ++e) part[e] = c[(j + e) * step];
    acc[v] = Vec<T>::load_aligned(part);
  }
}

// C[R rows, cols] (+)= A[R rows, k] * P[k, V vectors]: A's rows where they lie (one broadcast
// per row and step), P a packed, zero-padded panel of op(B).
template <class T, int R, int V>
void tile_rows(std::size_t k, const T* a, std::size_t lda, const T* p, T* c, std::size_t ldc, std::size_t cols,
               bool add) {
  using B = Vec<T>;
  constexpr std::size_t L = B::size;
  B acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = B(T(0));
  for (std::size_t q = 0; q < k; ++q, p += V * L) {
    B bv[V];
    for (int v = 0; v < V; ++v) bv[v] = B::load_aligned(p + v * L);
    for (int r = 0; r < R; ++r) {
      const B x(a[r * lda + q]);
      for (int v = 0; v < V; ++v) acc[r][v] = xsimd::fma(x, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r) put_row<T, V>(acc[r], c + r * ldc, 1, cols, add);
}

// C[R rows, cols] = (C or 0) + sum over q < k of A[q, R columns]^T B[q, V vectors]: both
// operands where they lie, a row of each per step. C's element (i, j) is at c[i * cr + j * cc].
template <class T, int R, int V>
void tile_outer(std::size_t k, const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c, std::size_t cr,
                std::size_t cc, std::size_t cols, bool load) {
  using B = Vec<T>;
  constexpr std::size_t L = B::size;
  B acc[R][V];
  for (int r = 0; r < R; ++r)
    if (load) get_row<T, V>(acc[r], c + r * cr, cc, cols);
    else
      for (int v = 0; v < V; ++v) acc[r][v] = B(T(0));
  for (std::size_t q = 0; q < k; ++q, a += lda, b += ldb) {
    // The rows are far apart (an im2col row is 1-4 KB): the hardware's prefetch alone left the
    // weight gradients at 120 GFLOP/s, this at 150-185 (bench/gemm-conv-bench).
    __builtin_prefetch(a + kAhead * lda);
    for (int v = 0; v < V; ++v) __builtin_prefetch(b + kAhead * ldb + v * L);
    B bv[V];
    for (int v = 0; v < V; ++v) bv[v] = B::load_unaligned(b + v * L);
    for (int r = 0; r < R; ++r) {
      const B x(a[r]);
      for (int v = 0; v < V; ++v) acc[r][v] = xsimd::fma(x, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r) put_row<T, V>(acc[r], c + r * cr, cc, cols, false);
}

// Function tables [V - 1][R - 1]; rows beyond max_rows(V) are never asked for.
template <class T>
using RowsFn = void (*)(std::size_t, const T*, std::size_t, const T*, T*, std::size_t, std::size_t, bool);
template <class T>
using OuterFn = void (*)(std::size_t, const T*, std::size_t, const T*, std::size_t, T*, std::size_t, std::size_t,
                         std::size_t, bool);

template <class T, int V, std::size_t... R>
constexpr std::array<RowsFn<T>, kMaxRows> rows_of(std::index_sequence<R...>) {
  return {&tile_rows<T, std::min(int(R) + 1, max_rows<T>(V)), V>...};
}
template <class T, int V, std::size_t... R>
constexpr std::array<OuterFn<T>, kMaxRows> outer_of(std::index_sequence<R...>) {
  return {&tile_outer<T, std::min(int(R) + 1, max_rows<T>(V)), V>...};
}
template <class T>
constexpr auto kRows = [] {
  constexpr auto rows = std::make_index_sequence<kMaxRows>{};
  return std::array{rows_of<T, 1>(rows), rows_of<T, 2>(rows), rows_of<T, 3>(rows), rows_of<T, 4>(rows)};
}();
template <class T>
constexpr auto kOuter = [] {
  constexpr auto rows = std::make_index_sequence<kMaxRows>{};
  return std::array{outer_of<T, 1>(rows), outer_of<T, 2>(rows), outer_of<T, 3>(rows), outer_of<T, 4>(rows)};
}();

}  // namespace vk::conv_gemm::tiles
