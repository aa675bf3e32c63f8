// The model interface: what the trainer, the evaluator, the run loader, the figures, the
// classifier and the benches know of a model. A model kind (vae/kinds/) implements it once; the
// registry (vae/registry.hpp) builds one from the `kind` its ModelConfig names. One virtual call
// per model call: inside, networks are Sequential<...> types and every layer call is resolved at
// compile time.
//
// A model is three log-densities per sample, log p(x|z), log p(z) and log q(z|x) (LogWeights);
// every bound is a function of them (vae/bounds.hpp). It also draws (ancestrally, for samples and
// figures), encodes and decodes (for the figures), and owns its parameters and the hooks of its
// training run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>

#include "autodiff/params.hpp"
#include "autodiff/random.hpp"
#include "vae/bounds.hpp"
#include "vae/config.hpp"
#include "vae/distributions.hpp"
#include "vae/noise.hpp"

namespace vk::vae {

template <class T>
class Model {
 public:
  explicit Model(const ModelConfig& config) : config_(config) {}
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  ParameterStore<T>& params() { return store_; }
  const ParameterStore<T>& params() const { return store_; }

  // Columns of eps ~ N(0, I) that one sample of the latents draws (z, then the layers above it).
  virtual std::size_t noise_width() const = 0;
  // Whether the model has a posterior q(z|x) (the autoencoders do not: no importance weighting).
  virtual bool variational() const = 0;
  // Evaluation reads at most this many examples (0: all): a model whose bound costs many network
  // passes per example (a diffusion model's T) says how many it takes.
  virtual std::size_t evaluation_limit() const { return 0; }

  // x [m, input_dim]; y [m, classes] one-hot for a conditional model, otherwise absent; eps
  // [r.k m, noise_width()] (row s m + i draws sample s of example i).
  virtual LogWeights<T> log_weights(Var<T> x, std::optional<Var<T>> y, Var<T> eps, const Request& r) = 0;

  // q(z|x) as a diagonal Gaussian [m, latent] (an autoencoder's code E(x) as mu, no logvar); its
  // mu is E_q[z|x].
  virtual DiagGaussian<T> encode(Var<T> x, std::optional<Var<T>> y = std::nullopt) = 0;
  // The decoder's output for codes z [m, latent], linked (logits of a Bernoulli likelihood, the
  // discretized logistic's parameters, ModelConfig::decoder_channels() per pixel, a mean in [0, 1]
  // otherwise), and its mean image E[x|z] [m, input_dim].
  virtual Var<T> decode(Var<T> z, std::optional<Var<T>> y = std::nullopt) = 0;
  virtual Var<T> mean_image(Var<T> decoded) const = 0;
  // x ~ p(x|z) of a decoded batch into out: the Gaussian's noise around the mean, the discretized
  // logistic's draw rounded to its bin. False, out untouched, where the likelihood has no draw.
  virtual bool draw_image(Var<T> /*decoded*/, Rng& /*rng*/, std::span<T> /*out*/) const { return false; }
  virtual bool draws_images() const { return false; }
  // n draws z ~ p(z|y) (p(z) without labels), ancestral through every latent layer.
  virtual Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) = 0;
  // n images from the model: z ~ p(z|y), the mean image E[x|z]; with `noise`, the likelihood's
  // draw of x where it has one instead (returns whether it drew).
  bool sample(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng, std::span<T> out, bool noise = false);

  // The training run's hooks. A model that starts from its data (Glow's actnorm) says so and
  // takes the first batch as training would see it once, before the first step of a new run; a
  // resumed run loads its parameters after that, so the start never undoes training.
  virtual void begin_training(double data_pixel_variance) = 0;
  virtual bool initializes_from_data() const { return false; }
  virtual void initialize(Var<T> /*x*/) {}
  virtual void after_step(std::size_t rows) = 0;
  virtual void end_epoch() = 0;
  // The Gaussian noise model, where the likelihood has one.
  virtual NoiseModel<T>* noise() = 0;
  virtual const NoiseModel<T>* noise() const = 0;
  // sigma^2 averaged over pixels (NaN for models without a Gaussian noise model).
  T sigma2() const {
    const NoiseModel<T>* n = noise();
    return n ? n->sigma2(store_) : std::numeric_limits<T>::quiet_NaN();
  }

 protected:
  ModelConfig config_;
  ParameterStore<T> store_;
};

// A model with no Gaussian noise model and no per-step state of its own to train (the flow, the
// diffusion model): the training hooks do nothing.
template <class T>
class NoiselessModel : public Model<T> {
 public:
  using Model<T>::Model;
  void begin_training(double) override {}
  void after_step(std::size_t) override {}
  void end_epoch() override {}
  NoiseModel<T>* noise() override { return nullptr; }
  const NoiseModel<T>* noise() const override { return nullptr; }
};

// The loss and its parts for a batch under objective o: the one training step of the trainer and
// the benches, and the evaluation's.
template <class T>
Terms<T> terms(Model<T>& model, Var<T> x, std::optional<Var<T>> y, Var<T> eps, const Objective& o, bool training) {
  return bound(model.log_weights(x, y, eps, o.request(training)), o);
}

// One-hot labels [rows, classes] on the tape, row i labelled label_of(i).
template <class T, class F>
Var<T> one_hot_rows(Tape<T>& tape, std::size_t rows, std::size_t classes, F label_of) {
  Var<T> y = tape.constant_uninitialized(rows, classes);
  std::fill_n(y.node().value, rows * classes, T(0));
  for (std::size_t i = 0; i < rows; ++i) y.node().value[i * classes + label_of(i)] = T(1);
  return y;
}

template <class T>
bool Model<T>::sample(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng, std::span<T> out, bool noise) {
  Var<T> decoded = decode(draw_prior(tape, y, n, rng), y);
  if (noise && draw_image(decoded, rng, out)) return true;
  Var<T> mean = mean_image(decoded);
  std::copy_n(mean.node().value, mean.rows() * mean.cols(), out.begin());
  return false;
}

}  // namespace vk::vae
