// Priors over z, each with the same compile-time interface (a model kind takes one as a template
// argument; no virtual call):
//   StandardNormalPrior  p(z) = N(0, I)
//   ClassPrior           p(z|y) = N(mu_y, diag e^lv_y), learned per class (prior.mu, prior.logvar
//                        [classes, latent], starting at N(0, I))
//   StackedPrior         p(z) is itself a VAE over z2, whose prior is a VAE over z3, ..., and N(0, I)
//                        at the top: per layer an encoder q(z_{l+1}|z_l) (prior.up.*, then
//                        prior.prior.up.*, ...) and a decoder p(z_l|z_{l+1}) (prior.down.*); two
//                        layers are Burda et al.'s two stochastic layers
// and their members:
//   above()                       columns of eps a sample of the latents above z draws
//   closed_form_kl(q, y, dims)    KL(q || p) per row (and per dimension) where there is a closed form
//   joint(q, z, y, eps_above)     log q(z, z2, ... | x) and log p(z, z2, ...) at a draw z of q
//   draw(tape, y, n, rng)         n draws of z, ancestral through the layers above
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/sequential.hpp"
#include "vae/config.hpp"
#include "vae/distributions.hpp"

namespace vk::vae {

// log q(z, ...|x) and log p(z, ...), [rows, 1].
template <class T>
struct Joint {
  Var<T> log_q, log_p;
};

template <class T>
struct ClosedFormKl {
  Var<T> kl;                     // [rows, 1]
  std::optional<Var<T>> dims;    // [rows, latent], where asked
};

// What a prior that is one diagonal Gaussian (per label) derives: log p(z) at a draw of q, and
// draws. Derived gives gaussian(store, tape, y).
template <class T, class Derived>
class GaussianPrior {
 public:
  std::size_t above() const { return 0; }
  Joint<T> joint(ParameterStore<T>& store, const DiagGaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
                 std::optional<Var<T>>) const {
    Var<T> log_p = self().gaussian(store, *z.tape, y).log_prob(z);
    return {q.log_prob(z), log_p};
  }
  Var<T> draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) const {
    return self().gaussian(store, tape, y).sample(tape, n, rng);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

template <class T>
class StandardNormalPrior : public GaussianPrior<T, StandardNormalPrior<T>> {
 public:
  StandardNormalPrior(ParameterStore<T>&, Rng&, const ModelConfig& c) : latent_(c.latent) {}
  DiagGaussian<T> gaussian(ParameterStore<T>&, Tape<T>& tape, std::optional<Var<T>>) const {
    return standard_normal_density(tape, latent_);
  }
  std::optional<ClosedFormKl<T>> closed_form_kl(ParameterStore<T>&, const DiagGaussian<T>& q,
                                                std::optional<Var<T>>, bool per_dim) const {
    if (!per_dim) return ClosedFormKl<T>{kl_standard_normal(q), std::nullopt};
    Var<T> dims = kl_standard_normal_per_dim(q);
    return ClosedFormKl<T>{sum(dims, 1), dims};
  }

 private:
  std::size_t latent_;
};

template <class T>
class ClassPrior : public GaussianPrior<T, ClassPrior<T>> {
 public:
  ClassPrior(ParameterStore<T>& store, Rng&, const ModelConfig& c);
  DiagGaussian<T> gaussian(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const;
  std::optional<ClosedFormKl<T>> closed_form_kl(ParameterStore<T>& store, const DiagGaussian<T>& q,
                                                std::optional<Var<T>> y, bool per_dim) const;

 private:
  ParamId mu_, logvar_;
};

// A diagonal Gaussian computed from its input by a network: an MLP trunk and two linear heads.
template <class T>
class GaussianNet {
 public:
  GaussianNet(const std::vector<std::size_t>& hidden, Op activation, std::size_t out);
  // Parameters name.trunk.<i>.*, name.mu.*, name.logvar.*; the log-variance head starts at zero.
  void build(ParameterStore<T>& store, Rng& rng, const std::string& name, std::size_t in);
  DiagGaussian<T> forward(ParameterStore<T>& store, Var<T> x) const;

 private:
  Repeat<Dense> trunk_;
  Linear<> mu_, logvar_;
};

template <class T>
class StackedPrior {
 public:
  StackedPrior(ParameterStore<T>& store, Rng& rng, const ModelConfig& c);
  std::size_t above() const;
  std::optional<ClosedFormKl<T>> closed_form_kl(ParameterStore<T>&, const DiagGaussian<T>&, std::optional<Var<T>>,
                                                bool) const {
    return std::nullopt;  // p(z) = E p(z|z2) has none: the Monte Carlo estimate stands
  }
  Joint<T> joint(ParameterStore<T>& store, const DiagGaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
                 std::optional<Var<T>> eps_above) const;
  Var<T> draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) const;

 private:
  struct Layer {
    std::size_t width;     // of the latent this layer adds
    GaussianNet<T> up;     // q(z_{l+1} | z_l)
    GaussianNet<T> down;   // p(z_l | z_{l+1})
  };
  std::vector<Layer> layers_;
};

extern template class ClassPrior<float>;
extern template class ClassPrior<double>;
extern template class GaussianNet<float>;
extern template class GaussianNet<double>;
extern template class StackedPrior<float>;
extern template class StackedPrior<double>;

}  // namespace vk::vae
