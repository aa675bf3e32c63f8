// Evaluation of a trained model on a data set: the negative ELBO and its parts, active units,
// and the importance-weighted estimate of -log p(x).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <limits>
#include <vector>

#include "datasets/batcher.hpp"
#include "datasets/mnist.hpp"
#include "vae/bounds.hpp"
#include "vae/model.hpp"

namespace vk::vae {

struct EvalOptions {
  std::size_t batch = 500;
  std::uint64_t seed = 0;       // the eps of the ELBO and the importance samples
  std::size_t iw_samples = 0;   // K; 0 skips the importance-weighted estimate
  std::size_t limit = 0;        // evaluate the first `limit` examples (0: all)
  bool dequantize = false;      // the 8-bit images as (v + u) / 256 with u fixed by dequantize_seed
  std::uint64_t dequantize_seed = 0;
  std::function<void(std::size_t done, std::size_t total)> progress = nullptr;  // may be empty
};

struct EvalResult {
  std::size_t count = 0;
  bool limited_by_model = false;  // the model's evaluation_limit() cut the set to count examples
  double nelbo = 0;  // mean over examples of rec + kl, in nats (AEs: rec + regulariser)
  double rec = 0;    // -log p(x|z) for a VAE, ||x - D(z)||^2 for an AE
  double kl = 0;     // KL(q(z|x) || p(z)) (p(z|y) of a learned prior); lambda ||z||^2 for a regularized AE
  double sigma2 = std::numeric_limits<double>::quiet_NaN();
  std::size_t active_units = 0;          // dimensions with Cov_x(E_q[z_i]) > 0.01
  std::vector<double> latent_variance;   // Cov_x(E_q[z_i]) of each dimension
  double iw_nll = std::numeric_limits<double>::quiet_NaN();  // -log p(x), K importance samples
  std::size_t iw_samples = 0;
};

// The batches evaluate() reads: the set in order, dequantized as the options say.
data::BatchOptions eval_batches(const EvalOptions& options);

// The set must already be in the form the model was trained on (binarized for Bernoulli). Reads
// the first model.evaluation_limit() examples at most (a diffusion model's costly bound).
template <class T>
EvalResult evaluate(Model<T>& model, const data::ImageSet& set, const EvalOptions& options);

// log p(x) (log p(x|y) of a conditional model) of one example estimated with K importance
// samples from q(z|x): logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K, with the
// model's prior p(z) (the learned p(z|y) of Condition::prior). x [1, d]; y [1, classes] or
// null. Uses `tape` (reset first) for the K decoder passes as one batch.
template <class T>
double iw_log_likelihood(Model<T>& model, Tape<T>& tape, const T* x, const T* y, std::size_t k,
                         Rng& rng);
// The same for n examples, rows of x [n, d] (and y [n, classes] or null), over the pool's threads,
// each with its own tape of `tapes` (one per thread of the pool at least, kept by the caller from
// one call to the next so that their storage is reused) and single-threaded products; example i draws its
// samples from Rng(key_of(seed ^ kGolden, keys[i])), so the values do not depend on the threads
// or on which other examples come along.
template <class T>
std::vector<double> iw_log_likelihoods(Model<T>& model, const T* x, const T* y, std::span<const std::size_t> keys,
                                       std::size_t k, std::uint64_t seed, std::vector<Tape<T>>& tapes);

extern template EvalResult evaluate(Model<float>&, const data::ImageSet&, const EvalOptions&);
extern template EvalResult evaluate(Model<double>&, const data::ImageSet&, const EvalOptions&);

}  // namespace vk::vae
