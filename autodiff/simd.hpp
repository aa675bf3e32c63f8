// Element-wise maps and the Bernoulli likelihood's row kernels, written on xsimd batches
// directly. xtensor fell back to libm's scalar expf/logf per lane for some mixed expressions
// (seen in perf: __logf_fma at a quarter of an IW evaluation), and its expressions made
// ops_elementwise.cpp the slowest file to compile.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace vk::simd {

// out[e] = f(x[e]) for e < n: f is a generic callable applied to xsimd batches and, for the
// tail, to scalars, written with the xsimd:: functions (which have scalar overloads) and where().
template <class T, class F>
void map(const T* x, T* out, std::size_t n, F f) {
  using B = xsimd::batch<T>;
  std::size_t e = 0;
  for (; e + B::size <= n; e += B::size) f(B::load_unaligned(x + e)).store_unaligned(out + e);
  for (; e < n; ++e) out[e] = f(x[e]);
}

// out[e] += f(a[e], b[e], c[e]): the gradient accumulations of element-wise ops.
template <class T, class F>
void map_add(const T* a, const T* b, const T* c, T* out, std::size_t n, F f) {
  using B = xsimd::batch<T>;
  std::size_t e = 0;
  for (; e + B::size <= n; e += B::size) {
    const B r = B::load_unaligned(out + e) +
                f(B::load_unaligned(a + e), B::load_unaligned(b + e), B::load_unaligned(c + e));
    r.store_unaligned(out + e);
  }
  for (; e < n; ++e) out[e] += f(a[e], b[e], c[e]);
}

// cond ? a : b, element-wise for batches and plain for scalars.
template <class T, class A>
inline xsimd::batch<T, A> where(xsimd::batch_bool<T, A> cond, xsimd::batch<T, A> a, xsimd::batch<T, A> b) {
  return xsimd::select(cond, a, b);
}
template <std::floating_point T>
inline T where(bool cond, T a, T b) {
  return cond ? a : b;
}

// log1p(t) for t in [0, 1] in float: a degree-9 polynomial (Chebyshev fit, within 1.2e-7 of
// log1p evaluated in float, about float's own rounding there), half the time of xsimd::log1p,
// whose division dominated the Bernoulli likelihood of an IW evaluation (a tenth of its time).
template <class V>
inline V log1p_unit(V t) {
  V p(3.704983974e-03f);
  for (const float c : {-2.274717949e-02f, 6.580128521e-02f, -1.243494526e-01f, 1.840041131e-01f,
                        -2.460547686e-01f, 3.327418566e-01f, -4.999519885e-01f, 9.999983311e-01f, 1.480117451e-08f})
    p = xsimd::fma(p, t, V(c));
  return p;
}

// log(1 + e^l) = max(l, 0) + log1p(e^{-|l|}): never overflows.
template <class T, class A>
inline xsimd::batch<T, A> softplus(xsimd::batch<T, A> l) {
  using B = xsimd::batch<T, A>;
  const B t = xsimd::exp(-xsimd::abs(l));
  if constexpr (std::is_same_v<T, float>) return xsimd::max(l, B(T(0))) + log1p_unit(t);
  else return xsimd::max(l, B(T(0))) + xsimd::log1p(t);
}

template <std::floating_point T>
inline T softplus(T l) {
  const T t = std::exp(-std::abs(l));
  if constexpr (std::is_same_v<T, float>) return std::max(l, T(0)) + log1p_unit(t);
  else return std::max(l, T(0)) + std::log1p(t);
}

// sum_j x_j l_j - softplus(l_j): log Bernoulli(x; sigmoid(l)) of one row.
template <class T>
T bernoulli_row(const T* l, const T* x, std::size_t d) {
  using B = xsimd::batch<T>;
  constexpr std::size_t w = B::size;
  B acc(T(0));
  std::size_t j = 0;
  for (; j + w <= d; j += w) {
    const B lj = B::load_unaligned(l + j);
    acc += B::load_unaligned(x + j) * lj - softplus(lj);
  }
  T s = xsimd::hadd(acc);
  for (; j < d; ++j) s += x[j] * l[j] - softplus(l[j]);
  return s;
}

// g += scale * (x - sigmoid(l)): the gradient of bernoulli_row with respect to l.
template <class T>
void add_bernoulli_row_grad(T scale, const T* l, const T* x, T* g, std::size_t d) {
  using B = xsimd::batch<T>;
  constexpr std::size_t w = B::size;
  const B one(T(1)), sc(scale);
  std::size_t j = 0;
  for (; j + w <= d; j += w) {
    const B p = one / (one + xsimd::exp(-B::load_unaligned(l + j)));
    xsimd::fma(sc, B::load_unaligned(x + j) - p, B::load_unaligned(g + j)).store_unaligned(g + j);
  }
  for (; j < d; ++j) g[j] += scale * (x[j] - T(1) / (T(1) + std::exp(-l[j])));
}

}  // namespace vk::simd
