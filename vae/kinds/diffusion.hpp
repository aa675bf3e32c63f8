// --model diffusion: a denoising diffusion model (Ho et al. 2020) of 8-bit images, the last
// answer of the lecture's "a VAE whose prior is a VAE": T latent layers x_1..x_T of x's shape,
// a fixed Gaussian posterior q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I) and a learned
// p(x_{t-1} | x_t) = N(mu(x_t, t), sigma_t^2 I) whose mean comes from the U-Net's predicted noise
// (vae/denoisers.hpp). Pixels are read as Ho's x_0 = 2 v / 255 - 1 of their 8-bit values v.
//
// Training (log_weights with r.training): Ho's simple loss, t uniform in 1..T, minus the mean over
// pixels of (eps - eps(x_t, t))^2 as log_px, eps [m, d + 1] giving the noise of x_t (columns 0..d-1)
// and t (column d, through the normal CDF). Evaluation: the variational bound in nats of the 8-bit
// values, L_vlb = L_T + sum_{t >= 2} KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) + L_0, L_0 the discretized
// Gaussian decoder of Ho et al., with x_t ~ q(x_t | x_0) drawn from keyed_normal(key_of(key, t));
// log_px is d ln 256 - L_vlb, the density of the uniformly dequantized pixels, so that bits/dim
// follow as for --model flow. The bound costs T network passes per image: evaluation reads the
// first --bound-images images only (evaluation_limit). Sampling (draw_prior) is the ancestral
// chain from x_T ~ N(0, I), each step's x_0 predicted and clipped to [-1, 1] as Ho et al.'s code does,
// on all T steps or on --sample-steps S of them (the schedule respaced);
// decode and encode are the identity on pixels.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vae/denoisers.hpp"
#include "vae/diffusion_schedule.hpp"
#include "vae/model.hpp"

namespace vk::vae {

template <class T>
class Diffusion final : public NoiselessModel<T> {
 public:
  Diffusion(const ModelConfig& c, std::uint64_t seed);

  const DiffusionSchedule& schedule() const { return schedule_; }

  // The predicted noise [m, d] of x_t [m, d] (Ho's units, [-1, 1] at t = 0), row i at step steps[i].
  Var<T> predict_noise(Var<T> x_t, std::span<const std::size_t> steps);
  // The terms of the bound in nats for n images of 8-bit values [n, d], row i's x_t drawn with
  // keys[i]: row i of the result holds T + 1 values, [0] = L_0 = -log p(x_0 | x_1) (discretized),
  // [t - 1] = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) for t = 2..T, [T] = L_T = KL(q(x_T | x_0) || N(0, I)).
  std::vector<double> bound_terms(const std::uint8_t* values, std::size_t n, std::span<const std::uint64_t> keys);

  std::size_t noise_width() const override { return this->config_.input_dim + 1; }
  bool variational() const override { return false; }
  std::size_t evaluation_limit() const override { return bound_images_; }
  LogWeights<T> log_weights(Var<T> x, std::optional<Var<T>> y, Var<T> eps, const Request& r) override;
  DiagGaussian<T> encode(Var<T> x, std::optional<Var<T>> = std::nullopt) override { return {x, {}}; }
  Var<T> decode(Var<T> z, std::optional<Var<T>> = std::nullopt) override { return z; }
  Var<T> mean_image(Var<T> decoded) const override { return decoded; }
  // x_0 of the ancestral chain for n images, in [0, 1] (clamped): x_T ~ N(0, I), then for t = T..1
  // x_{t-1} = mu(x_t, t) + sigma_t z (z = 0 at t = 1). Uses the model's own tape, one step at a time.
  Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) override;


 private:
  DiffusionSchedule schedule_;
  DiffusionSchedule sampler_;  // schedule_, or its respacing to --sample-steps for draw_prior
  std::size_t bound_images_;
  Denoisers net_;
  std::vector<std::size_t> steps_;  // of the batch in training: reused, so a step allocates nothing
  Tape<T> chain_;                   // the bound's and the sampler's passes, reset at every step
};

// The 8-bit value of a pixel in [0, 1] given as v / 255 or dequantized as (v + u) / 256.
inline std::uint8_t pixel_value(double x) { return std::uint8_t(std::clamp(std::floor(x * 256), 0.0, 255.0)); }

// log of the discretized Gaussian's mass of 8-bit value v at x_0 = 2 v / 255 - 1 (Ho et al.): the
// bin [x_0 - 1/255, x_0 + 1/255] of N(mean, sd^2), the edge bins open to -inf and +inf.
double discretized_gaussian_log_mass(int v, double mean, double sd);

}  // namespace vk::vae
