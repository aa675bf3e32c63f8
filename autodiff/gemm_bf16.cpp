#include "autodiff/gemm_bf16.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <immintrin.h>
#include <omp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "autodiff/onednn_call.hpp"

namespace vk::onednn {
namespace {

using dnnl::memory;

// n floats of x as bf16 into y. AVX512_BF16's conversion rounds as to_bf16 does, flushing
// subnormal inputs to zero, which no product here notices.
void convert(const float* x, std::size_t n, std::uint16_t* y) {
  std::size_t i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = __mmask16((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + i, mask, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i)));
    return;
  }
#endif
  for (; i < n; ++i) y[i] = to_bf16(x[i]);
}

// The rows × cols matrix stored at x with leading dimension ld, packed into y.
void convert_rows(const float* x, std::size_t rows, std::size_t cols, std::size_t ld, void* y) {
  auto* out = static_cast<std::uint16_t*>(y);
  if (ld == cols) return convert(x, rows * cols, out);
  for (std::size_t r = 0; r < rows; ++r) convert(x + r * ld, cols, out + r * cols);
}

// One product's primitive: the packed bf16 operands stay in the layouts A and B are stored in, the
// transposes are the memory descriptors' strides.
struct Product {
  Call call;  // src, weights, dst, scratchpad
  Buffer a, b, scratchpad;
};

std::mutex cache_mutex;
std::set<std::string> chosen;  // implementations, under cache_mutex

std::unique_ptr<Product> create(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, float beta,
                                std::size_t ldc) {
  using dt = memory::data_type;
  const memory::dim M = memory::dim(m), N = memory::dim(n), K = memory::dim(k);
  const memory::desc a({M, K}, dt::bf16, ta ? memory::dims{1, M} : memory::dims{K, 1});
  const memory::desc b({K, N}, dt::bf16, tb ? memory::dims{1, K} : memory::dims{N, 1});
  const memory::desc c({M, N}, dt::f32, memory::dims{memory::dim(ldc), 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.f) attr.set_output_scales(0, {alpha});
  if (beta != 0.f) {  // C's old values, times beta, added to the product before it is stored
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
  auto p = std::make_unique<Product>();
  p->a = buffer(a.get_size());
  p->b = buffer(b.get_size());
  p->scratchpad = buffer(pd.scratchpad_desc().get_size());
  p->call.primitive = dnnl::matmul(pd);
  p->call.add(DNNL_ARG_SRC, a, p->a.get());
  p->call.add(DNNL_ARG_WEIGHTS, b, p->b.get());
  p->call.add(DNNL_ARG_DST, c);
  p->call.add(DNNL_ARG_SCRATCHPAD, pd.scratchpad_desc(), p->scratchpad.get());
  chosen.insert(pd.impl_info_str());
  return p;
}

std::uint64_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Created on first use and kept, per shape and calling thread (each product's buffers serve one
// call at a time): a process multiplies a few dozen shapes.
Product& product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, float beta,
                 std::size_t ldc) {
  static std::map<std::array<std::uint64_t, 9>, std::unique_ptr<Product>> cache;
  const std::array<std::uint64_t, 9> key{ta, tb, m, n, k, ldc, bits(alpha), bits(beta), thread_slot()};
  std::lock_guard lock(cache_mutex);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  return *cache.emplace(key, create(ta, tb, m, n, k, alpha, beta, ldc)).first->second;
}

const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    default: return "another";
  }
}

}  // namespace

std::string bf16_unavailable() {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) return "";
  return std::string("this CPU has no bf16 instructions (AVX512_BF16 or AMX; oneDNN runs its ") + isa_name(isa) +
         " kernels here)";
}

void gemm_bf16(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
               std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // no product: C = beta C, which oneDNN's matmul, refusing empty dimensions, cannot do
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
    return;
  }
  thread_local bool one_thread = false;  // oneDNN's OpenMP team beside the pool's threads would fight them
  if (!one_thread) omp_set_num_threads(1), one_thread = true;
  Product& p = product(ta, tb, m, n, k, alpha, beta, ldc);
  ta ? convert_rows(a, k, m, lda, p.a.get()) : convert_rows(a, m, k, lda, p.a.get());
  tb ? convert_rows(b, n, k, ldb, p.b.get()) : convert_rows(b, k, n, ldb, p.b.get());
  p.call.point(2, c);
  p.call.run();
}

std::string bf16_implementations() {
  std::lock_guard lock(cache_mutex);
  std::string out;
  for (const std::string& s : chosen) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace vk::onednn
