// A model of the lecture: an encoder (a network family's trunk and the heads mu(x) and, for the
// variational objectives, log Sigma(x)), a decoder D(z), the prior over z, the noise model of a
// Gaussian likelihood, and how a conditional model sees its label. Each of those has its own
// home (vae/networks, vae/prior, vae/noise); the Model wires them into the objective.
//
// Parameter names: encoder.trunk.<i>.{weight,bias}, encoder.mu.*, encoder.logvar.*,
// decoder.<i>.*, log_sigma2 ([1,1], or [1,d] per pixel) with a Gaussian likelihood; a
// conditional model adds label_embedding.weight [classes, embedding] (Condition::embedding) or
// prior.mu and prior.logvar [classes, latent] (Condition::prior).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "autodiff/sequential.hpp"
#include "vae/config.hpp"
#include "vae/networks.hpp"
#include "vae/noise.hpp"
#include "vae/prior.hpp"

namespace vk::vae {

template <class T>
class Model {
 public:
  Model(const ModelConfig& config, std::uint64_t seed);

  const ModelConfig& config() const { return config_; }
  ParameterStore<T>& params() { return store_; }
  const ParameterStore<T>& params() const { return store_; }

  using Code = Gaussian<T>;  // q(z|x); an autoencoder's code is mu alone
  // x [m, input_dim]; y [m, classes] one-hot for a conditional model, otherwise not given.
  Code encode(Var<T> x, std::optional<Var<T>> y = std::nullopt);
  // The decoder's output: the mean D(z) in [0, 1] for a Gaussian likelihood and the AEs, the
  // logits for a Bernoulli likelihood.
  Var<T> decode(Var<T> z, std::optional<Var<T>> y = std::nullopt);
  // The prior p(z|y) for labels y [m, classes], or p(z) = N(0, I) as one row [1, latent]; not for
  // an hvae, whose prior is no Gaussian.
  Code prior(Tape<T>& tape, std::optional<Var<T>> y = std::nullopt);
  // n draws z ~ p(z|y) (p(z) without labels): reparameterized, or ancestral for an hvae.
  Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng);
  // The mean image E[x|z] of a decoder output.
  Var<T> mean_image(Var<T> decoded) const;
  // log p(x|z) per row from the decoder output: [m, 1].
  Var<T> log_likelihood(Var<T> decoded, Var<T> x, bool training);

  struct Terms {
    Var<T> loss;  // [1,1]: mean over the batch of rec + kl_weight * kl
    Var<T> rec;   // [m,1]: -log p(x|z) (VAE) or ||x - D(z)||^2 (AE)
    Var<T> kl;    // [m,1]: KL(q(z|x) || p(z)) (VAE) or lambda ||z||^2 (regularized AE); AE: none
    bool has_kl = false;
    Var<T> mu;    // [m, latent]: the code E(x), or E_q[z] of a VAE
  };
  // eps [m, noise_width] ~ N(0, I): the columns of z, then (hvae) those of z2; unused by the AEs.
  Terms terms(Var<T> x, std::optional<Var<T>> y, Var<T> eps, T kl_weight, bool training);
  // The importance-weighted bound (Burda et al. 2016) with k samples of z per example, the ELBO
  // at k = 1: loss = -mean_i [logsumexp_s (log p(x_i|z_si) + w (log p(z_si) - log q(z_si|x_i))) - log k]
  // with w = kl_weight. eps [k m, noise_width] (row s m + i is sample s of example i); for an hvae
  // the weight is over (z, z2) jointly. The encoder runs
  // once per example and the decoder on all k m rows; rec and kl are per-example averages over the
  // samples of -log p(x|z) and log q(z|x) - log p(z). Variational objectives only.
  Terms iwae_terms(Var<T> x, std::optional<Var<T>> y, Var<T> eps, std::size_t k, T kl_weight, bool training);

  // The training run's hooks (the noise model's, when there is one).
  void begin_training(double data_pixel_variance);
  void after_step(std::size_t rows);
  void end_epoch();

  const NoiseModel<T>* noise() const { return noise_ ? &*noise_ : nullptr; }
  NoiseModel<T>* noise() { return noise_ ? &*noise_ : nullptr; }
  // sigma^2 averaged over pixels (NaN for models without a Gaussian noise model).
  T sigma2() const;

 private:
  void require_label(const std::optional<Var<T>>& y) const;
  // The columns of eps that draw z, and those that draw z2 (an hvae's), checking its shape.
  std::pair<Var<T>, std::optional<Var<T>>> split_noise(Var<T> eps, std::size_t rows) const;

  ModelConfig config_;
  ParameterStore<T> store_;
  Networks nets_;
  Linear<> mu_head_;
  std::optional<Linear<>> logvar_head_;
  std::optional<NoiseModel<T>> noise_;
  std::optional<ParamId> embedding_;
  std::optional<Prior<T>> prior_;
};

// One-hot labels [rows, classes] on the tape, row i labelled label_of(i).
template <class T, class F>
Var<T> one_hot_rows(Tape<T>& tape, std::size_t rows, std::size_t classes, F label_of) {
  Var<T> y = tape.constant_uninitialized(rows, classes);
  std::fill_n(y.node().value, rows * classes, T(0));
  for (std::size_t i = 0; i < rows; ++i) y.node().value[i * classes + label_of(i)] = T(1);
  return y;
}

extern template class Model<float>;
extern template class Model<double>;

}  // namespace vk::vae
