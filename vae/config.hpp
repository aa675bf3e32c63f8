// What a model is: the objective, the likelihood, the noise model and the architecture. A run
// folder stores it in its checkpoint's manifest so the model can be rebuilt from the folder.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "autodiff/shape.hpp"
#include "autodiff/tape.hpp"

namespace vk::vae {

// p(x|z) of a VAE (vae/likelihood.hpp): a Gaussian of the (dequantized) pixels, a Bernoulli of
// binary ones, or the discretized logistic of the 8-bit values themselves.
enum class LikelihoodKind { gaussian, bernoulli, logistic };

// Where a conditional model (--model cvae) sees its label y; the variants compared in
// cvae-compare. Every variant's decoder takes y, so every one can generate a chosen class.
enum class Condition {
  encoder_decoder,  // one-hot y beside x at the encoder input and beside z at the decoder input
  decoder,          // one-hot y beside z only: q(z|x) is unconditional
  embedding,        // a learned embedding y·E [classes, embedding] beside the input of every
                    // decoder layer (z and each hidden layer); the encoder as encoder_decoder
  prior,            // as encoder_decoder, with a learned prior p(z|y) = N(mu_y, diag sigma_y^2)
};

// The noise model x = D(z) + e, e ~ N(0, sigma^2 I) of the Gaussian likelihood.
enum class Sigma {
  learned,    // one sigma^2 for all pixels, trained with the rest (as log sigma^2)
  per_pixel,  // one sigma^2 per pixel, trained
  optimal,    // the analytic optimum: sigma^2 = mean squared error of the batch
  fixed,      // a constant
};

// The family of encoder and decoder networks (vae/networks.hpp).
enum class Architecture {
  mlp,   // fully connected, widths from --hidden
  conv,  // convolutional, for the image shapes of vae/networks.hpp's Networks (28x28x1, 32x32x3)
};

struct ModelConfig {
  Architecture architecture = Architecture::mlp;
  std::string kind = "vae";      // the model kind (vae/registry.hpp): ae, rae, vae, cvae, hvae, ...
  LikelihoodKind likelihood = LikelihoodKind::gaussian;
  Sigma sigma = Sigma::learned;
  double fixed_sigma2 = 0.01;    // with Sigma::fixed
  double min_sigma2 = 1e-3;      // learned sigma^2 is kept above this, so it cannot collapse
  std::size_t logistic_mixture = 1;  // components of the discretized logistic per pixel
  std::size_t input_dim = 784;
  // The images' height x width x channels (channels last: a row holds them so, as the conv layers
  // read it); input_dim values. Unknown (a model given input_dim alone, a run folder older than
  // the shape): image_shape() is a square grey image, or one row where input_dim is no square.
  Shape image = unknown_shape;
  Shape image_shape() const;
  std::vector<std::size_t> hidden = {400};  // encoder widths; the decoder mirrors them
  std::size_t latent = 20;
  std::vector<std::size_t> hidden2 = {50, 50};  // hvae: each q(z_{l+1}|z_l) and, mirrored, p(z_l|z_{l+1})
  std::vector<std::size_t> latents_above;       // hvae: the widths of z2, z3, ... above z
  Op activation = Op::relu;      // of the mlp networks; conv is ReLU throughout
  double lambda = 1e-3;          // the regularized AE's weight on ||z||^2
  std::size_t classes = 0;       // label size of a conditional model (0: unconditional)
  Condition condition = Condition::encoder_decoder;  // how a conditional model sees y
  std::size_t embedding = 16;    // width of the label embedding of Condition::embedding
  // A kind's own settings by name, as its line in vae/kinds/kind_list.hpp declares them with
  // their defaults (--components 10 of --model mog is {"components", "10"}).
  std::map<std::string, std::string> settings;
  // The setting `name`, given or the kind's default; absent when the kind has no such setting.
  std::optional<std::string> setting(const std::string& name) const;
  // That setting as a whole number of at least `least`; throws naming --name otherwise.
  std::size_t count_setting(const std::string& name, std::size_t least = 1) const;

  // What the kind is (vae/registry.hpp's table): has a posterior q(z|x), models p(x|y).
  bool variational() const;
  // An exact density of the pixels (--model flow): trains on dequantized pixels, reports bits/dim.
  bool exact_density() const;
  bool conditional() const;
  bool hierarchical() const { return !latents_above.empty(); }
  bool label_in_encoder() const {
    return conditional() && condition != Condition::decoder;
  }
  bool label_embedded() const { return conditional() && condition == Condition::embedding; }
  bool learned_prior() const { return conditional() && condition == Condition::prior; }
  bool has_sigma() const { return variational() && likelihood == LikelihoodKind::gaussian; }
  // p(x|z) is the discretized logistic: a distribution over the 8-bit values, no dequantizing.
  bool discrete_pixels() const { return variational() && likelihood == LikelihoodKind::logistic; }
  // The decoder's outputs per pixel: the logistic's location and log-scale (and mixture logits)
  // per component, one value (a logit or a mean) otherwise.
  std::size_t decoder_channels() const;
  void validate() const;  // throws std::invalid_argument naming the bad setting
};

LikelihoodKind parse_likelihood(const std::string& s);
Sigma parse_sigma(const std::string& s);
Condition parse_condition(const std::string& s);
Architecture parse_architecture(const std::string& s);
const char* name(LikelihoodKind l);
const char* name(Sigma s);
const char* name(Condition c);
const char* name(Architecture a);

nlohmann::json to_json(const ModelConfig& c);
ModelConfig model_config_from_json(const nlohmann::json& j);  // throws std::invalid_argument

}  // namespace vk::vae
