// The arithmetic peak a GEMM's GFLOP/s is a share of: independent chains of fused multiply-adds
// in registers (no memory, so nothing but the vector units limits them), on `threads` threads at
// once, so that two vCPUs that are one core's hyperthreads show one core's peak and not two.
// The method of ../shared/tools/fma-peak, built into the benches so every figure they print can
// be put beside the peak of the machine it ran on.
#pragma once

#include <immintrin.h>

#include <chrono>
#include <thread>
#include <vector>

namespace vk::bench {

struct FmaPeak {
  double float256 = 0, float512 = 0, bf16 = 0;  // GFLOP/s of all the threads together; 0: no such unit
  // The float peak: the widest FMA the CPU has.
  double float_peak() const { return float512 > 0 ? float512 : float256; }
};

namespace detail {

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Twelve chains: more than the FMA latency (4 cycles) times the ports (2) of current cores, so the
// units never wait on a result. Returns flops per second of this thread.
#define VK_FMA_CHAINS(T, OP, SET, FLOPS_PER_OP)                                                   \
  T b = SET(1.0000001f), c = SET(1e-7f);                                                          \
  T a0 = SET(0), a1 = SET(1), a2 = SET(2), a3 = SET(3), a4 = SET(4), a5 = SET(5), a6 = SET(6),    \
    a7 = SET(7), a8 = SET(8), a9 = SET(9), a10 = SET(10), a11 = SET(11);                          \
  const auto start = std::chrono::steady_clock::now();                                            \
  for (long i = 0; i < iters; ++i) {                                                              \
    a0 = OP(a0, b, c); a1 = OP(a1, b, c); a2 = OP(a2, b, c); a3 = OP(a3, b, c);                   \
    a4 = OP(a4, b, c); a5 = OP(a5, b, c); a6 = OP(a6, b, c); a7 = OP(a7, b, c);                   \
    a8 = OP(a8, b, c); a9 = OP(a9, b, c); a10 = OP(a10, b, c); a11 = OP(a11, b, c);               \
  }                                                                                               \
  const double s = seconds_since(start);                                                          \
  T sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;                            \
  sink = reinterpret_cast<float*>(&sum)[0];                                                       \
  return double(iters) * 12.0 * (FLOPS_PER_OP) / s;

inline volatile float sink;

__attribute__((target("avx2,fma"))) inline double chains256(long iters) {
  VK_FMA_CHAINS(__m256, _mm256_fmadd_ps, _mm256_set1_ps, 16)
}
__attribute__((target("avx512f"))) inline double chains512(long iters) {
  VK_FMA_CHAINS(__m512, _mm512_fmadd_ps, _mm512_set1_ps, 32)
}
#define VK_DPBF16(a, b, c) \
  _mm512_dpbf16_ps(a, (__m512bh)_mm512_castps_si512(b), (__m512bh)_mm512_castps_si512(c))
__attribute__((target("avx512f,avx512bf16"))) inline double chains_bf16(long iters) {
  VK_FMA_CHAINS(__m512, VK_DPBF16, _mm512_set1_ps, 64)
}
#undef VK_DPBF16
#undef VK_FMA_CHAINS

// The best of many short rounds on every thread at once, summed over the threads: a round of a
// few milliseconds often runs whole between other processes' time slices, so the best round sees
// the core's peak even on a machine that other work shares (a long one would see its share).
template <class F>
double on_threads(F chains, int threads, long iters) {
  double best = 0;
  for (int round = 0; round < 25; ++round) {
    std::vector<double> rate(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { rate[t] = chains(iters); });
    for (std::thread& t : pool) t.join();
    double sum = 0;
    for (double r : rate) sum += r;
    if (sum > best) best = sum;
  }
  return best * 1e-9;
}

}  // namespace detail

// About 3 ms per unit and round on a 4 GHz core, a quarter of a second in all.
inline FmaPeak measure_fma_peak(int threads, long iters = 2'000'000) {
  __builtin_cpu_init();
  FmaPeak p;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    p.float256 = detail::on_threads(detail::chains256, threads, iters);
  if (__builtin_cpu_supports("avx512f")) p.float512 = detail::on_threads(detail::chains512, threads, iters);
  if (__builtin_cpu_supports("avx512bf16")) p.bf16 = detail::on_threads(detail::chains_bf16, threads, iters);
  return p;
}

}  // namespace vk::bench
