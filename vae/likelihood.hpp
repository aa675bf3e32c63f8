// p(x|z): how the decoder's output reads as a distribution over images. One owner per kind, each
// with its link (what the decoder's last layer becomes), log p(x|z) per row, the mean image and a
// draw of x, and the training hooks of the noise model where there is one:
//   bernoulli      the decoder gives logits; log p = sum_j x_j l_j - softplus(l_j)
//   gaussian       x = D(z) + e, e ~ N(0, sigma^2 I), D(z) = sigmoid(output) in [0, 1]; sigma^2 is
//                  the noise model's (vae/noise.hpp)
//   logistic       the discretized logistic of 8-bit pixels (PixelCNN++, the IAF VAE): per pixel the
//                  decoder gives a location and a log-scale (with --logistic-mixture K: K of each and
//                  K mixture logits) and p(x|z) is the mass of each pixel's bin v / 255, a
//                  distribution over the 256 values itself (docs/likelihoods.md)
//   squared_error  the autoencoders' -||x - D(z)||^2, D(z) = sigmoid(output): a Gaussian of fixed
//                  variance 1/2 without its constant, not a normalized density
// A new one is one more struct in the variant below.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <variant>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"
#include "vae/config.hpp"
#include "vae/noise.hpp"

namespace vk::vae {

// Each kind: link, mean, log_prob and draw (x ~ p(x|z) into out, false where it has none).
template <class T>
struct BernoulliLikelihood {
  Var<T> link(Var<T> out) const { return out; }
  Var<T> mean(Var<T> logits) const { return sigmoid(logits); }
  // x [m, d] serves decoded [k m, d]: the op reads x's rows for every block of samples.
  Var<T> log_prob(ParameterStore<T>&, Var<T> logits, Var<T> x, bool) { return bernoulli_loglik(logits, x); }
  bool draw(const ParameterStore<T>&, Var<T>, Rng&, std::span<T>) const { return false; }
};

template <class T>
struct GaussianLikelihood {
  NoiseModel<T> noise;
  Var<T> link(Var<T> out) const { return sigmoid(out); }
  Var<T> mean(Var<T> decoded) const { return decoded; }
  Var<T> log_prob(ParameterStore<T>& store, Var<T> mean, Var<T> x, bool training) {
    const std::size_t k = mean.rows() / x.rows();
    return noise.log_likelihood(store, mean, k > 1 ? tile_rows(x, k) : x, training);
  }
  // The mean plus e ~ N(0, sigma^2 I).
  bool draw(const ParameterStore<T>& store, Var<T> mean, Rng& rng, std::span<T> out) const {
    const std::size_t size = mean.rows() * mean.cols();
    std::copy_n(mean.node().value, size, out.begin());
    noise.add_noise(store, out.first(size), rng);
    return true;
  }
};

template <class T>
struct LogisticLikelihood {
  LogisticParams settings;
  // The decoder's values are the parameters as they are: locations on the pixel scale [0, 1],
  // log-scales and logits unbounded.
  Var<T> link(Var<T> out) const { return out; }
  Var<T> mean(Var<T> params) const { return logistic_mean(params, settings); }
  Var<T> log_prob(ParameterStore<T>&, Var<T> params, Var<T> x, bool) { return logistic_loglik(params, x, settings); }
  // A component from the mixture weights, a logistic draw from it, rounded to its bin.
  bool draw(const ParameterStore<T>&, Var<T> params, Rng& rng, std::span<T> out) const;
};

template <class T>
struct SquaredErrorLikelihood {
  Var<T> link(Var<T> out) const { return sigmoid(out); }
  Var<T> mean(Var<T> decoded) const { return decoded; }
  Var<T> log_prob(ParameterStore<T>&, Var<T> mean, Var<T> x, bool) {
    return scale(sum(square(sub(x, mean)), 1), T(-1));
  }
  bool draw(const ParameterStore<T>&, Var<T>, Rng&, std::span<T>) const { return false; }
};

template <class T>
class Likelihood {
 public:
  // The likelihood c names (a Gaussian registers its noise model's log_sigma2 in store).
  Likelihood(ParameterStore<T>& store, const ModelConfig& c);
  // The autoencoders' squared error.
  static Likelihood squared_error() { return Likelihood(SquaredErrorLikelihood<T>{}); }

  // The decoder's last layer as this likelihood reads it (logits, a mean in [0, 1], or the
  // logistic's parameters, ModelConfig::decoder_channels() per pixel).
  Var<T> link(Var<T> out) const {
    return std::visit([&](const auto& l) { return l.link(out); }, kind_);
  }
  // E[x|z] of a linked decoder output.
  Var<T> mean(Var<T> decoded) const {
    return std::visit([&](const auto& l) { return l.mean(decoded); }, kind_);
  }
  // log p(x|z) per row, [k m, 1], for decoded [k m, d] (k samples of each of m examples, row
  // s m + i) and x [m, d].
  Var<T> log_prob(ParameterStore<T>& store, Var<T> decoded, Var<T> x, bool training) {
    return std::visit([&](auto& l) { return l.log_prob(store, decoded, x, training); }, kind_);
  }
  // x ~ p(x|z) of a linked decoder output into out (rows of pixels); false, and out untouched,
  // where the likelihood has no draw (the Bernoulli's and the autoencoders').
  bool draw(const ParameterStore<T>& store, Var<T> decoded, Rng& rng, std::span<T> out) const {
    return std::visit([&](const auto& l) { return l.draw(store, decoded, rng, out); }, kind_);
  }
  bool draws() const {
    return std::holds_alternative<GaussianLikelihood<T>>(kind_) || std::holds_alternative<LogisticLikelihood<T>>(kind_);
  }
  void begin_training(ParameterStore<T>& store, double data_pixel_variance);
  void after_step(ParameterStore<T>& store, std::size_t rows);
  void end_epoch(ParameterStore<T>& store);

  NoiseModel<T>* noise() {
    auto* g = std::get_if<GaussianLikelihood<T>>(&kind_);
    return g ? &g->noise : nullptr;
  }
  const NoiseModel<T>* noise() const {
    auto* g = std::get_if<GaussianLikelihood<T>>(&kind_);
    return g ? &g->noise : nullptr;
  }

 private:
  template <class L>
  explicit Likelihood(L l) : kind_(std::move(l)) {}

  std::variant<BernoulliLikelihood<T>, GaussianLikelihood<T>, LogisticLikelihood<T>, SquaredErrorLikelihood<T>> kind_;
};

extern template class Likelihood<float>;
extern template class Likelihood<double>;

}  // namespace vk::vae
