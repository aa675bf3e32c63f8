// The VAE objective's fused ops. Fusing keeps them stable (softplus form of the Bernoulli
// likelihood, log-variance parameterisation) and makes each one pass over the batch.

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

template <class T>
void require_same_shape(const char* op, Var<T> a, Var<T> b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw std::invalid_argument(fmt::format("{}: shapes [{}x{}] and [{}x{}] differ", op, a.rows(),
                                            a.cols(), b.rows(), b.cols()));
}

// a has b's shape, or is one row of b's width that every row of b shares.
template <class T>
void require_rows_of(const char* op, Var<T> a, Var<T> b) {
  if ((a.rows() != b.rows() && a.rows() != 1) || a.cols() != b.cols())
    throw std::invalid_argument(fmt::format("{}: [{}x{}] is neither [{}x{}] nor [1x{}]", op, a.rows(),
                                            a.cols(), b.rows(), b.cols(), b.cols()));
}

// Offset of row i of a node that is either [m, n] or one shared row [1, n].
template <class T>
std::size_t row_offset(const Node<T>& n, std::size_t i) {
  return n.rows == 1 ? 0 : i * n.cols;
}


// exp(-log_var) for a block of columns, so the per-feature form costs one exp per column.
constexpr std::size_t kBlock = 256;
template <class T>
void inverse_variances(const Node<T>& lv, std::size_t j0, std::size_t j1, std::array<T, kBlock>& out) {
  for (std::size_t j = j0; j < j1; ++j) out[j - j0] = std::exp(-lv.value[lv.cols == 1 ? 0 : j]);
}

// log N(x_i; m_i, diag exp(lv_i)) per row, with a log-variance of its own for every element.
template <class T>
void per_element_loglik(const Node<T>& mean, const Node<T>& x, const Node<T>& lv, T* out) {
  const std::size_t m = x.rows, d = x.cols;
  const T log_2pi = std::log(T(2) * std::numbers::pi_v<T>);
  for (std::size_t i = 0; i < m; ++i) {
    T s = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const T r = x.value[i * d + j] - mean.value[row_offset(mean, i) + j], l = lv.value[i * d + j];
      s += r * r * std::exp(-l) + l + log_2pi;
    }
    out[i] = T(-0.5) * s;
  }
}

template <class T>
void per_element_loglik_backward(const Node<T>& y, const Node<T>& mean, const Node<T>& x, const Node<T>& lv) {
  const std::size_t m = x.rows, d = x.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const std::size_t e = i * d + j, at_mean = row_offset(mean, i) + j;
      const T g = y.grad[i], w = std::exp(-lv.value[e]), r = x.value[e] - mean.value[at_mean];
      if (mean.grad) mean.grad[at_mean] += g * r * w;
      if (x.grad) x.grad[e] -= g * r * w;
      if (lv.grad) lv.grad[e] += g * T(0.5) * (r * r * w - T(1));
    }
}

}  // namespace

template <class T>
Var<T> reparameterize(Var<T> mu, Var<T> logvar, Var<T> eps) {
  require_same_shape("reparameterize", mu, logvar);
  require_rows_of("reparameterize", mu, eps);
  const std::size_t m = eps.rows(), k = eps.cols();
  Var<T> z = mu.tape->template push<Op::reparameterize>({mu, logvar, eps}, m, k);
  if (mu.rows() == m) {
    auto out = z.value();
    xt::noalias(out) = mu.value() + xt::exp(T(0.5) * logvar.value()) * eps.value();
    return z;
  }
  for (std::size_t i = 0; i < m; ++i) {  // one shared row of mu and logvar
    auto out = view(z.node().value + i * k, 1, k);
    xt::noalias(out) = mu.value() + xt::exp(T(0.5) * logvar.value()) * view(eps.node().value + i * k, 1, k);
  }
  return z;
}

template <class T>
Var<T> gaussian_kl(Var<T> mu, Var<T> logvar) {
  require_same_shape("gaussian_kl", mu, logvar);
  const std::size_t m = mu.rows(), k = mu.cols();
  Var<T> y = mu.tape->template push<Op::gaussian_kl>({mu, logvar}, m, 1);
  const T* pm = mu.node().value;
  const T* pl = logvar.node().value;
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i) {
    T s = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const T u = pm[i * k + j], l = pl[i * k + j];
      s += std::exp(l) + u * u - T(1) - l;
    }
    out[i] = T(0.5) * s;
  }
  return y;
}

template <class T>
Var<T> bernoulli_loglik(Var<T> logits, Var<T> x) {
  const std::size_t m = logits.rows(), r = x.rows(), d = x.cols();
  if (logits.cols() != d || r == 0 || m % r != 0)
    throw std::invalid_argument(fmt::format("bernoulli_loglik: logits [{}x{}] and x [{}x{}]: x needs the logits' "
                                            "columns and a number of rows that divides theirs",
                                            m, logits.cols(), r, d));
  Var<T> y = x.tape->template push<Op::bernoulli_loglik>({logits, x}, m, 1);
  const T* pl = logits.node().value;
  const T* px = x.node().value;
  T* out = y.node().value;
  auto rows = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) out[i] = simd::bernoulli_row(pl + i * d, px + (i % r) * d, d);
  };
  parallel::for_rows(m, d, rows);
  return y;
}

template <class T>
Var<T> gaussian_loglik(Var<T> mean, Var<T> x, Var<T> log_var) {
  require_rows_of("gaussian_loglik", mean, x);
  const bool shared = log_var.rows() == 1 && (log_var.cols() == 1 || log_var.cols() == x.cols());
  if (!shared && (log_var.rows() != x.rows() || log_var.cols() != x.cols()))
    throw std::invalid_argument(fmt::format(
        "gaussian_loglik: log_var must be [1x1], [1x{}] or [{}x{}], got [{}x{}]", x.cols(), x.rows(),
        x.cols(), log_var.rows(), log_var.cols()));
  const std::size_t m = x.rows(), d = x.cols();
  Var<T> y = x.tape->template push<Op::gaussian_loglik>({mean, x, log_var}, m, 1);
  const Node<T>& lv = log_var.node();
  const Node<T>& nm = mean.node();
  const T* px = x.node().value;
  T* out = y.node().value;
  if (!shared) {
    per_element_loglik(nm, x.node(), lv, out);
    return y;
  }
  T log_terms = 0;  // sum_j (lv_j + log 2 pi), the same for every row
  for (std::size_t j = 0; j < d; ++j) log_terms += lv.value[lv.cols == 1 ? 0 : j];
  log_terms += T(d) * std::log(T(2) * std::numbers::pi_v<T>);
  std::fill(out, out + m, T(-0.5) * log_terms);
  std::array<T, kBlock> inv;
  for (std::size_t j0 = 0; j0 < d; j0 += kBlock) {
    const std::size_t j1 = std::min(d, j0 + kBlock);
    inverse_variances(lv, j0, j1, inv);
    for (std::size_t i = 0; i < m; ++i) {
      T s = 0;
      for (std::size_t j = j0; j < j1; ++j) {
        const T r = px[i * d + j] - nm.value[row_offset(nm, i) + j];
        s += r * r * inv[j - j0];
      }
      out[i] -= T(0.5) * s;
    }
  }
  return y;
}

namespace detail {

template <class T>
void backward_reparameterize(Tape<T>& t, const Node<T>& z) {
  const Node<T>& mu = t.node(z.in[0]);
  const Node<T>& lv = t.node(z.in[1]);
  const Node<T>& eps = t.node(z.in[2]);
  const std::size_t m = z.rows, k = z.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t e = i * k + j, p = row_offset(mu, i) + j;
      const T g = z.grad[e], sd = std::exp(T(0.5) * lv.value[p]);
      if (mu.grad) mu.grad[p] += g;
      if (lv.grad) lv.grad[p] += g * T(0.5) * sd * eps.value[e];
      if (eps.grad) eps.grad[e] += g * sd;
    }
}

template <class T>
void backward_gaussian_kl(Tape<T>& t, const Node<T>& y) {
  const Node<T>& mu = t.node(y.in[0]);
  const Node<T>& lv = t.node(y.in[1]);
  const std::size_t m = mu.rows, k = mu.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t e = i * k + j;
      if (mu.grad) mu.grad[e] += y.grad[i] * mu.value[e];
      if (lv.grad) lv.grad[e] += y.grad[i] * T(0.5) * (std::exp(lv.value[e]) - T(1));
    }
}

template <class T>
void backward_bernoulli_loglik(Tape<T>& t, const Node<T>& y) {
  const Node<T>& l = t.node(y.in[0]);
  const Node<T>& x = t.node(y.in[1]);
  const std::size_t m = l.rows, r = x.rows, d = x.cols;
  if (l.grad) {
    auto rows = [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i)
        simd::add_bernoulli_row_grad(y.grad[i], l.value + i * d, x.value + (i % r) * d, l.grad + i * d, d);
    };
    parallel::for_rows(m, d, rows);
  }
  // Rows of a broadcast x gather from several rows of the logits: one thread, in row order.
  if (x.grad)
    for (std::size_t i = 0; i < m; ++i) {
      auto gx = view(x.grad + (i % r) * d, 1, d);
      xt::noalias(gx) += y.grad[i] * view(l.value + i * d, 1, d);
    }
}

template <class T>
void backward_gaussian_loglik(Tape<T>& t, const Node<T>& y) {
  const Node<T>& mean = t.node(y.in[0]);
  const Node<T>& x = t.node(y.in[1]);
  const Node<T>& lv = t.node(y.in[2]);
  const std::size_t m = x.rows, d = x.cols;
  if (lv.rows != 1) {
    per_element_loglik_backward(y, mean, x, lv);
    return;
  }
  std::array<T, kBlock> inv;
  // d/dlv_j of -1/2 (r^2 e^{-lv} + lv) = 1/2 (r^2 e^{-lv} - 1), summed over the batch in double.
  std::array<double, kBlock> lv_sum;
  double lv_total = 0;
  for (std::size_t j0 = 0; j0 < d; j0 += kBlock) {
    const std::size_t j1 = std::min(d, j0 + kBlock);
    inverse_variances(lv, j0, j1, inv);
    lv_sum.fill(0.0);
    for (std::size_t i = 0; i < m; ++i) {
      const T g = y.grad[i];
      const std::size_t at_mean = row_offset(mean, i);
      double row = 0;
      for (std::size_t j = j0; j < j1; ++j) {
        const std::size_t e = i * d + j;
        const T r = x.value[e] - mean.value[at_mean + j], w = inv[j - j0];
        if (mean.grad) mean.grad[at_mean + j] += g * r * w;
        if (x.grad) x.grad[e] -= g * r * w;
        if (lv.grad) {
          const T dlv = g * T(0.5) * (r * r * w - T(1));
          if (lv.cols == 1) row += dlv;
          else lv_sum[j - j0] += dlv;
        }
      }
      lv_total += row;
    }
    if (lv.grad && lv.cols != 1)
      for (std::size_t j = j0; j < j1; ++j) lv.grad[j] += T(lv_sum[j - j0]);
  }
  if (lv.grad && lv.cols == 1) lv.grad[0] += T(lv_total);
}

}  // namespace detail

#define VK_VAE(T)                                            \
  template Var<T> reparameterize(Var<T>, Var<T>, Var<T>);    \
  template Var<T> gaussian_kl(Var<T>, Var<T>);               \
  template Var<T> bernoulli_loglik(Var<T>, Var<T>);          \
  template Var<T> gaussian_loglik(Var<T>, Var<T>, Var<T>);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_VAE)
VK_OPS_DENSITY(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
