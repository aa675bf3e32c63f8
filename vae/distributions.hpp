// Distributions over rows of a batch and invertible transforms between them, after
// torch.distributions and nflows: a distribution draws reparameterized samples (`rsample`) and
// gives log-densities per row (`log_prob`, [rows, 1]); a closed-form KL between two of them is a
// free function where one exists, which the ELBO takes as a fast path over the Monte Carlo
// estimate log q(z|x) - log p(z). A Transform maps z to z' with log|det dz'/dz| per row; a Chain
// of them adds the log-determinants, so "a Gaussian pushed through T steps" is a distribution again.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <tuple>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"

namespace vk::vae {

// eps ~ N(0, I) as a [rows, cols] constant on the tape.
template <class T>
Var<T> standard_normal(Tape<T>& tape, std::size_t rows, std::size_t cols, Rng& rng) {
  Var<T> eps = tape.constant_uninitialized(rows, cols);
  fill_normal<T>(rng, std::span<T>(eps.node().value, rows * cols));
  return eps;
}

// A [1, 1] constant holding v.
template <class T>
Var<T> scalar(Tape<T>& tape, T v) {
  Var<T> s = tape.constant_uninitialized(1, 1);
  s.node().value[0] = v;
  return s;
}

// A [rows, cols] constant of zeros.
template <class T>
Var<T> zeros(Tape<T>& tape, std::size_t rows, std::size_t cols) {
  Var<T> z = tape.constant_uninitialized(rows, cols);
  std::fill_n(z.node().value, rows * cols, T(0));
  return z;
}

// N(mu, diag exp(logvar)); mu and logvar are [rows, k], or one row [1, k] shared by every draw.
template <class T>
struct DiagGaussian {
  Var<T> mu;
  Var<T> logvar;

  // z = mu + exp(logvar / 2) eps for eps [rows, k] ~ N(0, I).
  Var<T> rsample(Var<T> eps) const { return reparameterize(mu, logvar, eps); }
  // rows fresh draws.
  Var<T> sample(Tape<T>& tape, std::size_t rows, Rng& rng) const {
    return rsample(standard_normal(tape, rows, mu.cols(), rng));
  }
  Var<T> log_prob(Var<T> z) const { return gaussian_loglik(mu, z, logvar); }
  // The same Gaussian for k samples per row, laid out as importance sampling reads them.
  DiagGaussian tiled(std::size_t k) const { return {tile_rows(mu, k), tile_rows(logvar, k)}; }
  std::size_t dim() const { return mu.cols(); }
};

// N(0, I) over dim columns.
template <class T>
DiagGaussian<T> standard_normal_density(Tape<T>& tape, std::size_t dim) {
  Var<T> z = zeros(tape, 1, dim);
  return {z, z};
}

// KL(q || N(0, I)) per row, in closed form.
template <class T>
Var<T> kl_standard_normal(const DiagGaussian<T>& q) {
  return gaussian_kl(q.mu, q.logvar);
}

// KL(N(mu, e^lv) || N(mu_p, e^lv_p)) = 1/2 sum_j (lv_p - lv + (e^lv + (mu - mu_p)^2) e^-lv_p - 1)
// per row; at mu_p = 0, lv_p = 0 it is kl_standard_normal.
template <class T>
Var<T> kl_between(const DiagGaussian<T>& q, const DiagGaussian<T>& p) {
  Var<T> ratio = mul(add(exp(q.logvar), square(sub(q.mu, p.mu))), exp(scale(p.logvar, T(-1))));
  return scale(sub(sum(add(sub(p.logvar, q.logvar), ratio), 1), scalar(*q.mu.tape, T(q.dim()))), T(0.5));
}

// The KL of each dimension, [rows, k], of q against N(0, I): 1/2 (e^lv + mu^2 - 1 - lv). Summed
// over the columns it is kl_standard_normal; free bits need it per dimension.
template <class T>
Var<T> kl_standard_normal_per_dim(const DiagGaussian<T>& q) {
  Var<T> one = scalar(*q.mu.tape, T(1));
  return scale(sub(sub(add(exp(q.logvar), square(q.mu)), one), q.logvar), T(0.5));
}

// --- transforms ---

// z' = f(z) and log|det df/dz| per row ([rows, 1]).
template <class T>
struct Pushed {
  Var<T> z;
  Var<T> log_det;
};

// An invertible map of rows, with the parameters it registered in a store and an optional
// context per row (the encoder's h(x) for an inverse autoregressive flow). inverse(forward(z)) = z;
// the log-determinant of inverse is minus forward's at the same point.
template <class F, class T>
concept Transform = requires(const F f, ParameterStore<T>& store, Var<T> z) {
  { f.forward(store, z) } -> std::same_as<Pushed<T>>;
  { f.inverse(store, z) } -> std::same_as<Pushed<T>>;
};

// f_n ∘ ... ∘ f_1 for Chain<F1, ..., Fn>: forward runs F1 first; the log-determinants add.
template <class... Fs>
class Chain {
 public:
  Chain() = default;
  explicit Chain(Fs... fs) : steps_(std::move(fs)...) {}

  template <class T>
  Pushed<T> forward(ParameterStore<T>& store, Var<T> z) const {
    Pushed<T> out{z, {}};
    std::apply([&](const auto&... f) { (step(out, f.forward(store, out.z)), ...); }, steps_);
    return out;
  }
  // forward, where each step that takes a data-dependent start (actnorm) first takes it from the
  // batch as it reaches that step.
  template <class T>
  Pushed<T> initialize(ParameterStore<T>& store, Var<T> z) const {
    Pushed<T> out{z, {}};
    std::apply([&](const auto&... f) { (initialize_step(out, store, f), ...); }, steps_);
    return out;
  }
  template <class T>
  Pushed<T> inverse(ParameterStore<T>& store, Var<T> z) const {
    Pushed<T> out{z, {}};
    reverse_apply(out, store, std::index_sequence_for<Fs...>{});
    return out;
  }

 private:
  template <class T>
  static void step(Pushed<T>& acc, Pushed<T> next) {
    acc.log_det = acc.log_det.tape ? add(acc.log_det, next.log_det) : next.log_det;
    acc.z = next.z;
  }
  template <class T, class F>
  static void initialize_step(Pushed<T>& acc, ParameterStore<T>& store, const F& f) {
    if constexpr (requires { f.initialize(store, acc.z); }) f.initialize(store, acc.z);
    step(acc, f.forward(store, acc.z));
  }
  template <class T, std::size_t... I>
  void reverse_apply(Pushed<T>& out, ParameterStore<T>& store, std::index_sequence<I...>) const {
    constexpr std::size_t n = sizeof...(I);
    (step(out, std::get<n - 1 - I>(steps_).inverse(store, out.z)), ...);
  }

  std::tuple<Fs...> steps_;
};

}  // namespace vk::vae
