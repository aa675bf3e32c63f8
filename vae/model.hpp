// The lecture's models in one class: an encoder trunk with a mu head (and a log-variance head
// for the variational objectives), a decoder D(z), and the noise model's sigma^2.
//
// Parameter names: encoder.trunk.<i>.{weight,bias}, encoder.mu.*, encoder.logvar.*,
// decoder.<i>.*, and log_sigma2 ([1,1], or [1,d] per pixel) when the likelihood is Gaussian; a
// conditional model adds label_embedding.weight [classes, embedding] (Condition::embedding) or
// prior.mu and prior.logvar [classes, latent] (Condition::prior).
#pragma once

#include <cstdint>
#include <optional>

#include "autodiff/layers.hpp"
#include "autodiff/params.hpp"
#include "vae/config.hpp"

namespace vk::vae {

template <class T>
class Model {
 public:
  Model(const ModelConfig& config, std::uint64_t seed);

  const ModelConfig& config() const { return config_; }
  ParameterStore<T>& params() { return store_; }
  const ParameterStore<T>& params() const { return store_; }

  struct Code {
    Var<T> mu;
    Var<T> logvar;  // only for the variational objectives
  };
  // x [m, input_dim]; y [m, classes] one-hot for a conditional model, otherwise not given.
  Code encode(Var<T> x, std::optional<Var<T>> y = std::nullopt);
  // The decoder's output: the mean D(z) in [0, 1] for a Gaussian likelihood and the AEs, the
  // logits for a Bernoulli likelihood.
  Var<T> decode(Var<T> z, std::optional<Var<T>> y = std::nullopt);
  // The prior p(z|y) as [m, latent] means and log-variances: N(0, I) (mu and logvar are zero
  // constants) unless the model learns a class-conditional prior.
  Code prior(Var<T> y, std::size_t rows);
  // The mean image E[x|z] of a decoder output.
  Var<T> mean_image(Var<T> decoded) const;

  // log sigma^2 as the likelihood uses it: the parameter, or (training with Sigma::optimal) the
  // log of this batch's mean squared error, through which gradients flow.
  Var<T> log_sigma2(Var<T> decoded, Var<T> x, bool training);

  struct Terms {
    Var<T> loss;  // [1,1]: mean over the batch of rec + kl_weight * kl
    Var<T> rec;   // [m,1]: -log p(x|z) (VAE) or ||x - D(z)||^2 (AE)
    Var<T> kl;    // [m,1]: KL(q(z|x) || p(z)) (VAE) or lambda ||z||^2 (regularized AE); AE: none
    bool has_kl = false;
    Var<T> mu;          // [m, latent]: the code E(x), or E_q[z] of a VAE
    Var<T> log_sigma2;  // the one the likelihood used (Gaussian VAEs only)
  };
  // eps [m, latent] ~ N(0, I) (unused by the AEs).
  Terms terms(Var<T> x, std::optional<Var<T>> y, Var<T> eps, T kl_weight, bool training);

  // sigma^2 averaged over pixels (NaN for models without a Gaussian noise model).
  T sigma2() const;
  // Sets every sigma^2 to max(v, min_sigma2) (the data's variance to start from; the optimum
  // after an epoch).
  void set_sigma2(T v);
  // Keeps trained log sigma^2 at or above log(min_sigma2): call after each optimizer step.
  void clamp_sigma2();

 private:
  void require_label(const std::optional<Var<T>>& y) const;
  Var<T> kl(const Code& q, std::optional<Var<T>> y);

  ModelConfig config_;
  ParameterStore<T> store_;
  std::optional<Mlp> trunk_;  // none when there are no hidden layers
  Linear<> mu_head_;
  std::optional<Linear<>> logvar_head_;
  // Explicit layers (named decoder.0, decoder.2, ... as an Mlp names them) so the embedding
  // variant can put the label beside the input of each one.
  std::vector<Linear<>> decoder_;
  std::optional<ParamId> embedding_, prior_mu_, prior_logvar_;
  std::optional<ParamId> log_sigma2_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace vk::vae
