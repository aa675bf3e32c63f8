// Diagonal Gaussians over z, the prior p(z) (N(0, I), or a learned class prior p(z|y)), and the
// one way z is drawn: reparameterized, so a draw from q(z|x) and one from the prior are the same
// code path whether it is training, evaluation or sampling.
#pragma once

#include <cstddef>
#include <optional>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"
#include "autodiff/sequential.hpp"
#include "vae/config.hpp"

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

// A diagonal Gaussian computed from its input by a network: an MLP trunk and two linear heads.
template <class T>
class GaussianNet {
 public:
  GaussianNet() = default;
  GaussianNet(const std::vector<std::size_t>& hidden, Op activation, std::size_t out);
  // Parameters name.trunk.<i>.*, name.mu.*, name.logvar.*; the log-variance head starts at zero.
  void build(ParameterStore<T>& store, Rng& rng, const std::string& name, std::size_t in);
  Gaussian<T> forward(ParameterStore<T>& store, Var<T> x) const;

 private:
  Repeat<Dense> trunk_;
  Linear<> mu_, logvar_;
};

// p(z): N(0, I); a learned class prior p(z|y) = N(mu_y, diag e^lv_y) (parameters prior.mu and
// prior.logvar [classes, latent], starting at N(0, I)); or, for an hvae, itself a VAE over z: an
// encoder q(z2|z) (prior.up.*), a decoder p(z|z2) (prior.down.*) and p(z2) = N(0, I), so that
// p(z) = E_{p(z2)} p(z|z2) is learned and no longer Gaussian (Burda et al.'s two stochastic layers).
template <class T>
class Prior {
 public:
  Prior(ParameterStore<T>& store, Rng& rng, const ModelConfig& c);

  bool learned() const { return mu_.has_value(); }
  bool hierarchical() const { return hierarchical_; }
  // The Gaussian prior p(z|y) for one-hot labels y [rows, classes] ([rows, latent]), or p(z) as
  // one row [1, latent]. A hierarchical prior is no Gaussian: throws.
  Gaussian<T> of(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const;
  // log q(z|x) - log p(z) per row at a draw z of q: with the log-densities for a Gaussian prior;
  // for a hierarchical one its ELBO bound on log p(z) at a draw z2 = from q(z2|z) with eps2, i.e.
  // log q(z|x) + log q(z2|z) - log p(z|z2) - log p(z2). [rows, 1].
  Var<T> log_ratio(ParameterStore<T>& store, const Gaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
                   std::optional<Var<T>> eps2) const;
  // The ELBO's KL(q(z|x) || p(z)) per row: in closed form for a Gaussian prior, the one-sample
  // estimate log_ratio for a hierarchical one.
  Var<T> kl(ParameterStore<T>& store, const Gaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
            std::optional<Var<T>> eps2) const;
  // n draws of z ~ p(z|y): reparameterized, or ancestral (z2 ~ N(0, I), then z ~ p(z|z2)).
  Var<T> draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) const;

 private:
  std::size_t latent_, latent2_ = 0;
  std::optional<ParamId> mu_, logvar_;
  bool hierarchical_ = false;
  GaussianNet<T> up_, down_;  // q(z2|z) and p(z|z2)
};

extern template class Prior<float>;
extern template class Prior<double>;
extern template class GaussianNet<float>;
extern template class GaussianNet<double>;

}  // namespace vk::vae
