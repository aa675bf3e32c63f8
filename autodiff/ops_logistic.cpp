// The discretized logistic of 8-bit pixels (PixelCNN++, IAF VAE): log P(x|params) and the mean
// image, forward and backward side by side as every op group has them (op_list.hpp,
// VK_OPS_LOGISTIC).
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/simd.hpp"

namespace vk {
namespace {

// --- the discretized logistic of 8-bit pixels ---------------------------------------------------
// x = v / 255; bin v is [x - h, x + h] with h = 1/510, bin 0 open to -inf and bin 255 to +inf.
// With u = e^-ls, a = (x + h - mu) u and b = (x - h - mu) u, an inner bin's mass is
// sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^{-(a - b)}), so
//   log P(v) = -softplus(-a) - softplus(b) + log(1 - e^{-t}),  t = a - b = 2 h u:
// three terms that are never positive, so nothing cancels however small the mass (PixelCNN++
// subtracts the two CDFs and falls back to the density at the bin's middle when that loses its
// digits; here the identity keeps them). For t below 1e-3 (scales above 1000 bins) log(1 - e^-t)
// is its series log t - t/2 + t^2/24 with log t = -ls - log 255, which stays finite where e^-ls
// underflows. One component per pixel runs on xsimd batches of double (logistic_row), a mixture
// pixel by pixel (pixel_log_prob); both in double whatever the tape's type.
namespace logistic {

constexpr int kLevels = 256;
constexpr std::size_t kMaxComponents = 32;

// log P(v) under one logistic and its derivatives in the location and the log-scale, on xsimd
// batches of double or on one double (a row's tail, a mixture's components): the same operations
// either way, in double whatever the tape's type. The edges' distances from the location,
// (v +- 1/2 - 255 mu) / 255, are one fused multiply-add each: exact but for one rounding of the
// distance itself, however far the scale magnifies them. v is the bin as a real.
template <class V>
struct Mass {
  V log_p, d_loc, d_log_scale;
};

template <class V>
Mass<V> bin_mass(V v, V loc, V log_scale) {
  using simd::where;
  const V lowest(kLogisticMinLogScale), zero(0), one(1);
  const auto clamped = log_scale < lowest;
  const V ls = xsimd::max(log_scale, lowest);
  const V u = xsimd::exp(-ls), t = u / V(255);  // t: the bin's width in scales, a - b
  const V a = xsimd::fma(V(-255), loc, v + V(0.5)) * t, b = xsimd::fma(V(-255), loc, v - V(0.5)) * t;
  // softplus(-a) and sigmoid(-a), softplus(b) and sigmoid(b), each pair from one e^-|.|.
  const V ea = xsimd::exp(-xsimd::abs(a)), eb = xsimd::exp(-xsimd::abs(b));
  const V sp_a = xsimd::max(-a, zero) + xsimd::log1p(ea), sp_b = xsimd::max(b, zero) + xsimd::log1p(eb);
  const V ra = one / (one + ea), rb = one / (one + eb);
  const V sig_a = where(a <= zero, ra, ea * ra), sig_b = where(b >= zero, rb, eb * rb);
  // log(1 - e^-t), and t / (e^t - 1) = -d log(1 - e^-t) / d ls; below t = 1e-3 their series, with
  // log t = -ls - log 255, finite where e^-ls underflows.
  const auto small = t < V(1e-3);
  const V gap = -xsimd::expm1(-t);
  const V log_gap = where(small, -ls - V(std::log(255.0)) - t / V(2) + t * t / V(24), xsimd::log(gap));
  const V t_over = where(small, one - t / V(2) + t * t / V(12), t * (one - gap) / gap);
  // Bin 0 is log F(x + h) = -softplus(-a), bin 255 log(1 - F(x - h)) = -softplus(b).
  const auto first = v == zero, last = v == V(kLevels - 1);
  Mass<V> m;
  m.log_p = where(first, -sp_a, where(last, -sp_b, -sp_a - sp_b + log_gap));
  m.d_loc = where(first, -u * sig_a, where(last, u * sig_b, -u * (sig_a - sig_b)));
  m.d_log_scale = where(clamped, zero, where(first, -a * sig_a, where(last, b * sig_b, -a * sig_a + b * sig_b - t_over)));
  return m;
}

// sigmoid(x) from e^-|x|, which never overflows.
inline double sigmoid(double x) {
  const double e = std::exp(-std::abs(x)), r = 1 / (1 + e);
  return x >= 0 ? r : e * r;
}

// Throws unless every pixel of x [r, d] is some v / 255, within a thousandth of a bin; bin_of
// gives that v.
template <class T>
void require_bins(const char* op, const T* x, std::size_t r, std::size_t d) {
  for (std::size_t e = 0; e < r * d; ++e) {
    const double s = double(x[e]) * 255, v = std::nearbyint(s);
    if (!(std::abs(s - v) <= 1e-3) || v < 0 || v > 255)
      throw std::invalid_argument(fmt::format("{}: x[{}, {}] = {} is not an 8-bit pixel v / 255 (dequantized or "
                                              "binarized data?)", op, e / d, e % d, double(x[e])));
  }
}
inline int bin_of(double x) { return int(std::lround(x * 255)); }

// One row's log P with one component per pixel and, with `slopes`, its derivatives by each
// parameter (the row's columns): the pixels' parameters read into double a chunk at a time, their
// masses on xsimd batches and the tail one by one.
template <class T>
double logistic_row(const T* p, const T* x, std::size_t d, T* slopes = nullptr) {
  using B = xsimd::batch<double>;
  constexpr std::size_t kChunk = 128;
  std::array<double, kChunk> loc, ls, v;
  B acc(0.0);
  double tail = 0;
  for (std::size_t j0 = 0; j0 < d; j0 += kChunk) {
    const std::size_t n = std::min(kChunk, d - j0);
    for (std::size_t j = 0; j < n; ++j) {
      loc[j] = double(p[2 * (j0 + j)]);
      ls[j] = double(p[2 * (j0 + j) + 1]);
      v[j] = double(bin_of(double(x[j0 + j])));
    }
    std::size_t j = 0;
    for (; j + B::size <= n; j += B::size) {  // the derivatives go where the parameters were
      const Mass<B> m = bin_mass(B::load_unaligned(&v[j]), B::load_unaligned(&loc[j]), B::load_unaligned(&ls[j]));
      acc += m.log_p;
      m.d_loc.store_unaligned(&loc[j]);
      m.d_log_scale.store_unaligned(&ls[j]);
    }
    for (; j < n; ++j) {
      const Mass<double> m = bin_mass(v[j], loc[j], ls[j]);
      tail += m.log_p;
      loc[j] = m.d_loc;
      ls[j] = m.d_log_scale;
    }
    if (slopes)
      for (j = 0; j < n; ++j) {
        slopes[2 * (j0 + j)] = T(loc[j]);
        slopes[2 * (j0 + j) + 1] = T(ls[j]);
      }
  }
  return xsimd::hadd(acc) + tail;
}

template <class T>
void require_params(const char* op, Var<T> params, std::size_t d, LogisticParams s) {
  if (s.components == 0 || s.components > kMaxComponents)
    throw std::invalid_argument(fmt::format("{}: {} components (1 to {})", op, s.components, kMaxComponents));
  if (params.cols() != d * s.per_pixel())
    throw std::invalid_argument(fmt::format("{}: params [{}x{}] for {} pixels: {} columns per pixel ({} components)",
                                            op, params.rows(), params.cols(), d, s.per_pixel(), s.components));
}

// One pixel of a mixture of k: its log P(v) and, with `slopes`, its derivatives by the pixel's
// parameters.
template <class T>
double pixel_log_prob(const T* p, int v, std::size_t k, T* slopes = nullptr) {
  const T* logits = p + 2 * k;
  double top = logits[0];
  for (std::size_t c = 1; c < k; ++c) top = std::max(top, double(logits[c]));
  double z = 0;
  for (std::size_t c = 0; c < k; ++c) z += std::exp(double(logits[c]) - top);
  const double log_norm = top + std::log(z);
  std::array<Mass<double>, kMaxComponents> m;
  std::array<double, kMaxComponents> joint;  // log pi_c + log P_c(v)
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < k; ++c) {
    m[c] = bin_mass(double(v), double(p[c]), double(p[k + c]));
    joint[c] = double(logits[c]) - log_norm + m[c].log_p;
    best = std::max(best, joint[c]);
  }
  double sum = 0;
  for (std::size_t c = 0; c < k; ++c) sum += std::exp(joint[c] - best);
  const double log_p = best + std::log(sum);
  if (slopes)
    for (std::size_t c = 0; c < k; ++c) {
      // The component's weight after seeing v, and before.
      const double w = std::exp(joint[c] - log_p), pi = std::exp(double(logits[c]) - log_norm);
      slopes[c] = T(w * m[c].d_loc);
      slopes[k + c] = T(w * m[c].d_log_scale);
      slopes[2 * k + c] = T(w - pi);
    }
  return log_p;
}

// One pixel's mean, sum_c pi_c E_c with E_c = (1/255) sum_{v=1}^{255} sigma((mu_c - (v - 1/2)/255) u_c),
// and with `grad` adds g d/dparams.
template <class T>
double pixel_mean(const T* p, std::size_t k, double g = 0, T* grad = nullptr) {
  std::array<double, kMaxComponents> e, pi, d_loc, d_ls;
  if (k == 1) {
    pi[0] = 1;
  } else {
    const T* logits = p + 2 * k;
    double top = logits[0], z = 0;
    for (std::size_t c = 1; c < k; ++c) top = std::max(top, double(logits[c]));
    for (std::size_t c = 0; c < k; ++c) z += pi[c] = std::exp(double(logits[c]) - top);
    for (std::size_t c = 0; c < k; ++c) pi[c] /= z;
  }
  double mean = 0;
  for (std::size_t c = 0; c < k; ++c) {
    const bool clamped = double(p[k + c]) < kLogisticMinLogScale;
    const double u = std::exp(-(clamped ? kLogisticMinLogScale : double(p[k + c])));
    double s = 0, ds = 0, dsz = 0;  // the sums of sigma, sigma' and sigma' z
    for (int v = 1; v < kLevels; ++v) {
      const double zv = std::fma(255.0, double(p[c]), 0.5 - v) * (u / 255), sv = sigmoid(zv);
      s += sv;
      if (grad) {
        const double d = sv * (1 - sv);
        ds += d;
        dsz += d * zv;
      }
    }
    e[c] = s / 255;
    d_loc[c] = u * ds / 255;
    d_ls[c] = clamped ? 0 : -dsz / 255;
    mean += pi[c] * e[c];
  }
  if (grad)
    for (std::size_t c = 0; c < k; ++c) {
      grad[c] += T(g * pi[c] * d_loc[c]);
      grad[k + c] += T(g * pi[c] * d_ls[c]);
      if (k > 1) grad[2 * k + c] += T(g * pi[c] * (e[c] - mean));
    }
  return mean;
}

}  // namespace logistic
}  // namespace

template <class T>
Var<T> logistic_loglik(Var<T> params, Var<T> x, LogisticParams settings) {
  const std::size_t m = params.rows(), r = x.rows(), d = x.cols(), k = settings.components, w = settings.per_pixel();
  logistic::require_params("logistic_loglik", params, d, settings);
  if (r == 0 || m % r != 0)
    throw std::invalid_argument(fmt::format("logistic_loglik: params [{}x{}] and x [{}x{}]: x needs a number of rows "
                                            "that divides theirs", m, params.cols(), r, d));
  const T* px = x.node().value;
  logistic::require_bins("logistic_loglik", px, r, d);
  // The forward pass has every derivative of log P by the parameters at hand: kept on the tape
  // (a third input, a constant) where a gradient will be asked for, the backward pass only scales
  // them by the rows' gradients.
  Tape<T>& tape = *x.tape;
  const bool keep = tape.grad_enabled() && params.requires_grad();
  const Var<T> slopes = keep ? tape.constant_uninitialized(m, d * w) : Var<T>{};
  Var<T> y = keep ? tape.template push<Op::logistic_loglik>({params, x, slopes}, m, 1, settings)
                  : tape.template push<Op::logistic_loglik>({params, x}, m, 1, settings);
  const T* pp = params.node().value;
  T* ds = keep ? slopes.node().value : nullptr;
  T* out = y.node().value;
  auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const T* xi = px + (i % r) * d;
      T* si = ds ? ds + i * d * w : nullptr;
      double s = 0;
      if (k == 1) s = logistic::logistic_row(pp + i * d * w, xi, d, si);
      else
        for (std::size_t j = 0; j < d; ++j)
          s += logistic::pixel_log_prob(pp + (i * d + j) * w, logistic::bin_of(xi[j]), k, si ? si + j * w : nullptr);
      out[i] = T(s);
    }
  };
  parallel::for_rows(m, d * w, rows);
  return y;
}

template <class T>
Var<T> logistic_mean(Var<T> params, LogisticParams settings) {
  const std::size_t w = settings.per_pixel(), m = params.rows(), d = params.cols() / w;
  logistic::require_params("logistic_mean", params, d, settings);
  Var<T> y = params.tape->template push<Op::logistic_mean>({params}, m, d, settings);
  const T* pp = params.node().value;
  T* out = y.node().value;
  auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t e = begin * d; e < end * d; ++e) out[e] = T(logistic::pixel_mean(pp + e * w, settings.components));
  };
  parallel::for_rows(m, d * w, rows);
  return y;
}

namespace detail {

template <class T>
void backward_logistic_loglik(Tape<T>& t, const Node<T>& y) {
  const Node<T>& p = t.node(y.in[0]);
  if (!p.grad) return;  // x has none: the bins are data
  const Node<T>& slopes = t.node(y.in[2]);  // d log P / d params, from the forward pass
  const std::size_t w = p.cols;
  auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      auto g = view(p.grad + i * w, 1, w);
      xt::noalias(g) += y.grad[i] * view(slopes.value + i * w, 1, w);
    }
  };
  parallel::for_rows(std::size_t(p.rows), w, rows);
}

template <class T>
void backward_logistic_mean(Tape<T>& t, const Node<T>& y) {
  const Node<T>& p = t.node(y.in[0]);
  if (!p.grad) return;
  const LogisticParams& s = params<Op::logistic_mean>(y);
  const std::size_t w = s.per_pixel(), d = y.cols;
  auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t e = begin * d; e < end * d; ++e)
      logistic::pixel_mean(p.value + e * w, s.components, double(y.grad[e]), p.grad + e * w);
  };
  parallel::for_rows(std::size_t(y.rows), d * w, rows);
}

}  // namespace detail

#define VK_LOGISTIC(T)                                              \
  template Var<T> logistic_loglik(Var<T>, Var<T>, LogisticParams); \
  template Var<T> logistic_mean(Var<T>, LogisticParams);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_LOGISTIC)
VK_OPS_LOGISTIC(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
