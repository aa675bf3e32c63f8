// Diagonal Gaussians over z, the prior p(z) (N(0, I), or a learned class prior p(z|y)), and the
// one way z is drawn: reparameterized, so a draw from q(z|x) and one from the prior are the same
// code path whether it is training, evaluation or sampling.
#pragma once

#include <cstddef>
#include <optional>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"

namespace vk::vae {

// N(mu, diag exp(logvar)); mu and logvar are [rows, k], or one row [1, k] shared by every draw.
template <class T>
struct Gaussian {
  Var<T> mu;
  Var<T> logvar;
};

// eps ~ N(0, I) as a [rows, cols] constant on the tape.
template <class T>
Var<T> standard_normal(Tape<T>& tape, std::size_t rows, std::size_t cols, Rng& rng) {
  Var<T> eps = tape.constant_uninitialized(rows, cols);
  fill_normal<T>(rng, std::span<T>(eps.node().value, rows * cols));
  return eps;
}

// rows draws z = mu + exp(logvar / 2) eps of g.
template <class T>
Var<T> draw_z(Tape<T>& tape, const Gaussian<T>& g, std::size_t rows, Rng& rng) {
  return reparameterize(g.mu, g.logvar, standard_normal(tape, rows, g.mu.cols(), rng));
}

// log g(z) per row of z [rows, k]: [rows, 1].
template <class T>
Var<T> log_density(const Gaussian<T>& g, Var<T> z) {
  return gaussian_loglik(g.mu, z, g.logvar);
}

template <class T>
class Prior {
 public:
  // N(0, I) over `latent` dimensions; with classes > 0 a learned N(mu_y, diag e^lv_y) per class,
  // parameters prior.mu and prior.logvar [classes, latent], starting at N(0, I).
  Prior(ParameterStore<T>& store, std::size_t latent, std::size_t classes);

  bool learned() const { return mu_.has_value(); }
  // p(z|y) for one-hot labels y [rows, classes] ([rows, latent]), or p(z) as one row [1, latent].
  Gaussian<T> of(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const;
  // KL(q || p(z|y)) per row, in closed form: [rows, 1].
  Var<T> kl(ParameterStore<T>& store, const Gaussian<T>& q, std::optional<Var<T>> y) const;

 private:
  std::size_t latent_;
  std::optional<ParamId> mu_, logvar_;
};

extern template class Prior<float>;
extern template class Prior<double>;

}  // namespace vk::vae
