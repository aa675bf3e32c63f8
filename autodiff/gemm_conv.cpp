#include "autodiff/gemm_conv.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/gemm_conv_tiles.hpp"
#include "autodiff/parallel.hpp"

namespace vk::conv_gemm {
namespace {

using namespace tiles;

// From this many multiply-adds on a product is split over the pool (as blas.cpp's products).
constexpr double kSplitWork = double(1 << 20);

// A buffer of this thread's, grown only when too small (a step allocates nothing after its
// first), aligned to 64 bytes.
template <class T>
T* buffer(int which, std::size_t n) {
  thread_local std::vector<T> held[3];
  std::vector<T>& v = held[which];
  const std::size_t extra = 64 / sizeof(T);
  if (v.size() < n + extra) v.resize(n + extra);
  const auto at = reinterpret_cast<std::uintptr_t>(v.data());
  return v.data() + ((64 - at % 64) % 64) / sizeof(T);
}

template <class T>
void run(std::size_t m, std::size_t n, std::size_t k, std::size_t units, parallel::RangeFn f, void* context) {
  if (parallel::threads() > 1 && double(m) * double(n) * double(k) >= kSplitWork)
    parallel::for_parts(units, f, context);
  else
    f(context, 0, units);
}

// C = A op(B) with A untransposed: op(B) packed into panels of up to kMaxVectors vectors.
template <class T>
struct RowsProduct {
  std::size_t m, n, k;
  const T* a;
  std::size_t lda;
  const T* packed;
  T* c;
  std::size_t ldc;
  bool add;
  int rows;  // of a tile

  static void part(void* context, std::size_t begin, std::size_t end) {
    const RowsProduct& s = *static_cast<const RowsProduct*>(context);
    constexpr std::size_t L = Vec<T>::size, W = kMaxVectors * L;
    const std::size_t vectors = (s.n + L - 1) / L;
    for (std::size_t i = begin * s.rows; i < std::min(s.m, end * s.rows); i += s.rows) {
      const std::size_t r = std::min(std::size_t(s.rows), s.m - i);
      for (std::size_t j = 0; j < s.n; j += W) {
        const std::size_t v = std::min<std::size_t>(kMaxVectors, vectors - j / L);
        kRows<T>[v - 1][r - 1](s.k, s.a + i * s.lda, s.lda, s.packed + j * s.k, s.c + i * s.ldc + j, s.ldc,
                                std::min(W, s.n - j), s.add);
      }
    }
  }
};

template <class T>
int rows_of_tile(std::size_t n) {
  const std::size_t vectors = (n + Vec<T>::size - 1) / Vec<T>::size;
  return max_rows<T>(int(std::clamp<std::size_t>(vectors, 1, kMaxVectors)));
}

template <class T>
const T* pack_panels(bool tb, std::size_t n, std::size_t k, const T* b, std::size_t ldb) {
  constexpr std::size_t L = Vec<T>::size, W = kMaxVectors * L;
  const std::size_t vectors = (n + L - 1) / L;
  T* packed = buffer<T>(0, vectors * L * k);
  // Panel by panel, each [k, its vectors * L], zero beyond column n.
  for (std::size_t j0 = 0; j0 < n; j0 += W) {
    const std::size_t width = std::min<std::size_t>(kMaxVectors, vectors - j0 / L) * L;
    T* to = packed + j0 * k;
    for (std::size_t q = 0; q < k; ++q, to += width)
      for (std::size_t e = 0; e < width; ++e) {
        const std::size_t j = j0 + e;
        to[e] = j < n ? (tb ? b[j * ldb + q] : b[q * ldb + j]) : T(0);
      }
  }
  return packed;
}

template <class T>
void rows_product(bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                  std::size_t ldb, bool add, T* c, std::size_t ldc) {
  RowsProduct<T> s{m, n, k, a, lda, pack_panels(tb, n, k, b, ldb), c, ldc, add, rows_of_tile<T>(n)};
  run<T>(m, n, k, (m + s.rows - 1) / s.rows, &RowsProduct<T>::part, &s);
}

// C'[m, n] (+)= A'^T B' with A' [k, m] and B' [k, n] where they lie; C' is C or, when the
// operands were swapped to vectorize along m, C^T. Columns beyond the last full vector of B'
// are copied per block of the reduction into a zero-padded [kDepth, L] buffer.
template <class T>
struct OuterProduct {
  std::size_t m, n, k;
  const T* a;
  std::size_t lda;
  const T* b;
  std::size_t ldb;
  T* c;
  std::size_t cr, cc;
  bool add, by_rows = false;
  int vectors = 1, rows = 1;            // of a full tile
  std::size_t full = 0, panels = 0;     // full vectors of B', column panels (the last may be the tail)
  Fill<T> fill = nullptr;               // makes A' (fill_a) or B' a block of rows at a time
  const void* fill_context = nullptr;
  bool fill_a = true;

  void panel(std::size_t p, std::size_t& j, int& v, bool& tail) const {
    tail = p * std::size_t(vectors) >= full;
    j = (tail ? full : p * std::size_t(vectors)) * Vec<T>::size;
    v = tail ? 1 : int(std::min<std::size_t>(std::size_t(vectors), full - p * std::size_t(vectors)));
  }

  // The tiles of rows [i0, i1) and panels [p0, p1) of one block of the reduction, [q, q + depth),
  // whose rows of A' and B' start at a and b.
  void tiles(std::size_t i0, std::size_t i1, std::size_t p0, std::size_t p1, std::size_t q, std::size_t depth,
             const T* a_rows, std::size_t a_step, const T* b_rows, std::size_t b_step) const {
    constexpr std::size_t L = Vec<T>::size;
    for (std::size_t p = p0; p < p1; ++p) {
      std::size_t j;
      int v;
      bool tail;
      panel(p, j, v, tail);
      const T* from = b_rows + j;
      std::size_t step = b_step;
      if (tail) {
        T* t = buffer<T>(1, depth * L);
        for (std::size_t d = 0; d < depth; ++d)
          for (std::size_t e = 0; e < L; ++e) t[d * L + e] = j + e < n ? from[d * b_step + e] : T(0);
        from = t;
        step = L;
      }
      for (std::size_t i = i0; i < i1; i += std::size_t(rows)) {
        const std::size_t r = std::min(std::size_t(rows), i1 - i);
        kOuter<T>[v - 1][r - 1](depth, a_rows + i, a_step, from, step, c + i * cr + j * cc, cr, cc,
                                std::min(std::size_t(v) * L, n - j), add || q > 0);
      }
    }
  }

  void block(std::size_t i0, std::size_t i1, std::size_t p0, std::size_t p1) const {
    constexpr std::size_t L = Vec<T>::size;
    const std::size_t chunk_rows = std::max<std::size_t>(1, kChunkRows / std::size_t(rows)) * std::size_t(rows);
    const std::size_t chunk_panels = std::max<std::size_t>(1, kChunkCols / (std::size_t(vectors) * L));
    if (!fill) {
      for (std::size_t ic = i0; ic < i1; ic += chunk_rows)
        for (std::size_t pc = p0; pc < p1; pc += chunk_panels)
          for (std::size_t q = 0; q < k; q += kDepth)
            tiles(ic, std::min(i1, ic + chunk_rows), pc, std::min(p1, pc + chunk_panels), q, std::min(kDepth, k - q),
                  a + q * lda, lda, b + q * ldb, ldb);
      return;
    }
    // The made operand's block is made once, then every chunk takes it.
    for (std::size_t q = 0; q < k; q += kDepth) {
      const std::size_t depth = std::min(kDepth, k - q);
      T* made = buffer<T>(2, depth * (fill_a ? m : n));
      fill(fill_context, q, q + depth, made);
      for (std::size_t ic = i0; ic < i1; ic += chunk_rows)
        for (std::size_t pc = p0; pc < p1; pc += chunk_panels)
          tiles(ic, std::min(i1, ic + chunk_rows), pc, std::min(p1, pc + chunk_panels), q, depth,
                fill_a ? made : a + q * lda, fill_a ? m : lda, fill_a ? b + q * ldb : made, fill_a ? ldb : n);
    }
  }

  static void part(void* context, std::size_t begin, std::size_t end) {
    const OuterProduct& s = *static_cast<const OuterProduct*>(context);
    if (s.by_rows)
      s.block(begin * std::size_t(s.rows), std::min(s.m, end * std::size_t(s.rows)), 0, s.panels);
    else
      s.block(0, s.m, begin, end);
  }
};

// The share of a vector's lanes that x columns fill.
template <class T>
double filled(std::size_t x) {
  constexpr std::size_t L = Vec<T>::size;
  return double(x) / double((x + L - 1) / L * L);
}

template <class T>
void outer_product(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                   std::size_t ldb, bool add, T* c, std::size_t ldc, Fill<T> fill = nullptr,
                   const void* fill_context = nullptr, bool fill_b = false) {
  constexpr std::size_t L = Vec<T>::size;
  OuterProduct<T> s{m, n, k, a, lda, b, ldb, c, ldc, 1, add};
  s.fill = fill;
  s.fill_context = fill_context;
  s.fill_a = !fill_b;
  if (filled<T>(m) > filled<T>(n)) {  // C^T = B^T A: vectors along m
    s.fill_a = !s.fill_a;
    std::swap(s.m, s.n);
    std::swap(s.a, s.b);
    std::swap(s.lda, s.ldb);
    std::swap(s.cr, s.cc);
  }
  s.full = s.n / L;
  s.vectors = int(std::clamp<std::size_t>(s.full, 1, kMaxVectors));
  s.rows = max_rows<T>(s.vectors);
  s.panels = (s.full + std::size_t(s.vectors) - 1) / std::size_t(s.vectors) + (s.n % L ? 1 : 0);
  const std::size_t row_tiles = (s.m + std::size_t(s.rows) - 1) / std::size_t(s.rows);
  s.by_rows = row_tiles >= s.panels;
  run<T>(m, n, k, s.by_rows ? row_tiles : s.panels, &OuterProduct<T>::part, &s);
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, bool accumulate, T* c, std::size_t ldc) {
  constexpr std::size_t L = Vec<T>::size;
  const bool bf16 = !own<T>();
  // Both transposed (no convolution asks for it), or a C of very few columns (a dot product per
  // element would serve it; the U-Net's last convolution only): BLAS.
  if (bf16 || (trans_a && trans_b) || (!trans_a && 2 * n < L)) {
    blas::gemm<T>(trans_a, trans_b, m, n, k, T(1), a, lda, b, ldb, accumulate ? T(1) : T(0), c, ldc);
    return;
  }
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  if (trans_a) outer_product(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
  else rows_product(trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

template <class T>
bool own() {
  return !(std::is_same_v<T, float> && blas::precision() == blas::Precision::bf16);
}

template <class T>
const T* pack(bool trans_b, std::size_t n, std::size_t k, const T* b, std::size_t ldb) {
  return pack_panels(trans_b, n, k, b, ldb);
}

template <class T>
void rows(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* packed, bool accumulate,
          T* c, std::size_t ldc) {
  const int r = rows_of_tile<T>(n);
  RowsProduct<T> s{m, n, k, a, lda, packed, c, ldc, accumulate, r};
  RowsProduct<T>::part(&s, 0, (m + std::size_t(r) - 1) / std::size_t(r));
}

template <class T>
void gemm_made(std::size_t m, std::size_t n, std::size_t k, Fill<T> fill, const void* context, const T* b,
               std::size_t ldb, bool accumulate, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  outer_product<T>(m, n, k, nullptr, m, b, ldb, accumulate, c, ldc, fill, context);
}

template <class T>
void gemm_made_b(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, Fill<T> fill,
                 const void* context, bool accumulate, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  outer_product<T>(m, n, k, a, lda, nullptr, n, accumulate, c, ldc, fill, context, true);
}

template <class T>
std::size_t block_rows(std::size_t n) {
  return std::size_t(rows_of_tile<T>(n));
}

#define VK_CONV_GEMM(T)                                                                                          \
  template bool own<T>();                                                                                        \
  template const T* pack<T>(bool, std::size_t, std::size_t, const T*, std::size_t);                              \
  template void rows<T>(std::size_t, std::size_t, std::size_t, const T*, std::size_t, const T*, bool, T*, std::size_t); \
  template void gemm_made<T>(std::size_t, std::size_t, std::size_t, Fill<T>, const void*, const T*, std::size_t, bool, \
                             T*, std::size_t);                                                                   \
  template void gemm_made_b<T>(std::size_t, std::size_t, std::size_t, const T*, std::size_t, Fill<T>, const void*,    \
                               bool, T*, std::size_t);                                                           \
  template std::size_t block_rows<T>(std::size_t);
VK_CONV_GEMM(float)
VK_CONV_GEMM(double)
#undef VK_CONV_GEMM

template void gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, const float*, std::size_t, const float*,
                          std::size_t, bool, float*, std::size_t);
template void gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, const double*, std::size_t,
                           const double*, std::size_t, bool, double*, std::size_t);

}  // namespace vk::conv_gemm
