// Every bound of a latent-variable model is a function of three log-densities per sample (Burda
// et al. 2016; our PyTorch peer's log_weights): log p(x|z), log p(z) and log q(z|x). A model gives
// them as LogWeights; this file turns them into the ELBO (with beta, warm-up and free bits), the
// importance-weighted bound, the IW estimate of log p(x) and bits per dimension, for training,
// evaluation and the benches alike.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "autodiff/ops.hpp"

namespace vk::vae {

// What training maximises: the ELBO, or the importance-weighted bound with k samples per image.
enum class Bound { elbo, iwae };
Bound parse_bound(const std::string& s);
const char* name(Bound b);

// The columns of one batch of m examples with k samples of the latents each (row s m + i is
// sample s of example i).
template <class T>
struct LogWeights {
  std::size_t k = 1;
  Var<T> log_px;                          // log p(x|z), [k m, 1]
  std::optional<Var<T>> log_pz, log_qz;   // log p(z) and log q(z|x) over every latent layer, [k m, 1]
  std::optional<Var<T>> kl;               // [m, 1]: KL(q(z|x) || p(z)) in closed form where the model
                                          // has one and was asked (k = 1), or an autoencoder's penalty
  std::optional<Var<T>> kl_dims;          // [m, latent]: that KL per dimension, where asked (free bits)
  Var<T> code;                            // [m, latent]: E_q[z|x] (an autoencoder's code E(x))
};

// What the models are asked for: k samples of the latents; whether a closed-form KL may stand
// in for log p(z) and log q(z|x) (the ELBO's fast path); whether per dimension.
struct Request {
  std::size_t k = 1;
  bool closed_form_kl = true;
  bool kl_per_dim = false;
  bool training = false;
};

template <class T>
struct Terms {
  Var<T> loss;   // [1, 1]: what is minimised, the batch mean
  Var<T> rec;    // [m, 1]: -log p(x|z) (averaged over the k samples)
  Var<T> kl;     // [m, 1]: KL(q || p), its Monte Carlo estimate, or an autoencoder's penalty
  bool has_kl = false;
  Var<T> mu;     // [m, latent]: E_q[z|x]
};

// The objective of a training step, of an evaluation, of a bench.
struct Objective {
  Bound bound = Bound::elbo;
  std::size_t k = 1;            // samples per example of the iwae bound
  double kl_weight = 1;         // beta, times the warm-up's ramp
  double free_bits = 0;         // ELBO: nats per latent dimension below which its KL is free
  Request request(bool training) const {
    return {bound == Bound::iwae ? k : 1, bound == Bound::elbo, bound == Bound::elbo && free_bits > 0, training};
  }
};

// -ELBO: mean_i [-log p(x_i|z_i) + w KL_i], with the closed-form KL where given, else the one-sample
// log q - log p. With free bits lambda > 0 (Kingma et al. 2016), the KL term is
// sum_j max(lambda, mean_i KL_ij): a dimension whose batch-mean KL is below lambda gets no gradient
// from it.
template <class T>
Terms<T> elbo(const LogWeights<T>& lw, T kl_weight, double free_bits = 0);
// -IWAE bound: -mean_i [logsumexp_s (log p(x_i|z_si) + w (log p(z_si) - log q(z_si|x_i))) - log k];
// the ELBO at k = 1. rec and kl are per-example means over the samples.
template <class T>
Terms<T> iwae(const LogWeights<T>& lw, T kl_weight);
template <class T>
Terms<T> bound(const LogWeights<T>& lw, const Objective& o);

// Bits per dimension of 8-bit data from the negative log-density (nats) of the dequantized pixels
// x = (v + u) / 256 in [0, 1]^d: (nll + d ln 256) / (d ln 2).
double bits_per_dim(double nll, std::size_t dim);
// Bits per dimension from the negative log-probability (nats) of the 8-bit values themselves
// (the discretized logistic): nll / (d ln 2).
double discrete_bits_per_dim(double nll, std::size_t dim);

extern template Terms<float> bound(const LogWeights<float>&, const Objective&);
extern template Terms<double> bound(const LogWeights<double>&, const Objective&);

}  // namespace vk::vae
