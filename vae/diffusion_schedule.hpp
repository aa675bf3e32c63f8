// The noise schedule of a denoising diffusion model (Ho et al. 2020) in closed form, in double:
// beta_t for t = 1..T, alpha_t = 1 - beta_t, abar_t = prod_{s <= t} alpha_s (abar_0 = 1), so that
//   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),
//   q(x_{t-1} | x_t, x_0) = N(c0_t x_0 + ct_t x_t, btilde_t I) with
//   c0_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t), ct_t = sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t),
//   btilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t.
// Arrays are indexed by t; index 0 is the clean image (beta_0 = 0, abar_0 = 1).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace vk::vae {

enum class BetaSchedule {
  linear,  // Ho et al.: beta from 1e-4 to 0.02 at T = 1000, both scaled by 1000 / T (Nichol & Dhariwal)
  cosine,  // Nichol & Dhariwal 2021: abar_t = f(t) / f(0), f(t) = cos((t/T + s) / (1 + s) pi/2)^2, s = 0.008
};

inline BetaSchedule parse_beta_schedule(const std::string& s) {
  if (s == "linear") return BetaSchedule::linear;
  if (s == "cosine") return BetaSchedule::cosine;
  throw std::invalid_argument(fmt::format("unknown --beta-schedule '{}' (expected linear or cosine)", s));
}

struct DiffusionSchedule {
  std::size_t steps = 0;  // T
  std::vector<double> beta, alpha, abar;
  // The network's step at each index: t itself, except in a respaced schedule.
  std::vector<std::size_t> time;

  DiffusionSchedule(std::size_t t_steps, BetaSchedule kind) : steps(t_steps) {
    if (steps < 2) throw std::invalid_argument(fmt::format("--diffusion-steps must be at least 2, not {}", steps));
    beta.assign(steps + 1, 0.0);
    if (kind == BetaSchedule::linear) {
      // The scale keeps abar_T near Ho's 4e-5 for any T (at T = 10 the unscaled betas leave 0.9).
      const double scale = 1000.0 / double(steps), lo = scale * 1e-4, hi = scale * 0.02;
      for (std::size_t t = 1; t <= steps; ++t)
        beta[t] = std::min(0.999, lo + (hi - lo) * double(t - 1) / double(steps - 1));
    } else {
      const double s = 0.008;
      auto f = [&](double t) {
        const double c = std::cos((t / double(steps) + s) / (1 + s) * std::numbers::pi / 2);
        return c * c;
      };
      // Clipped at 0.999 as Nichol & Dhariwal do: the last steps' betas would reach 1.
      for (std::size_t t = 1; t <= steps; ++t) beta[t] = std::min(0.999, 1 - f(double(t)) / f(double(t - 1)));
    }
    alpha.assign(steps + 1, 1.0);
    abar.assign(steps + 1, 1.0);
    for (std::size_t t = 1; t <= steps; ++t) {
      alpha[t] = 1 - beta[t];
      abar[t] = abar[t - 1] * alpha[t];
    }
    time.resize(steps + 1);
    for (std::size_t t = 0; t <= steps; ++t) time[t] = t;
  }

  // The chain on S of the T steps (Nichol & Dhariwal 2021, section 4): tau_1 < ... < tau_S evenly
  // spaced from 1 to T, abar kept at each, beta_i = 1 - abar_{tau_i} / abar_{tau_{i-1}}, so that
  // q(x_{tau_i} | x_0) is unchanged and a model trained on all T steps samples in S network passes.
  // S = T gives this schedule itself.
  DiffusionSchedule respaced(std::size_t s_steps) const {
    if (s_steps < 2 || s_steps > steps)
      throw std::invalid_argument(fmt::format("--sample-steps must be 2 to --diffusion-steps ({}), not {}", steps, s_steps));
    if (s_steps == steps) return *this;
    DiffusionSchedule r = *this;
    r.steps = s_steps;
    r.beta.assign(s_steps + 1, 0.0);
    r.alpha.assign(s_steps + 1, 1.0);
    r.abar.assign(s_steps + 1, 1.0);
    r.time.assign(s_steps + 1, 0);
    for (std::size_t i = 1; i <= s_steps; ++i) {
      // Rounded evenly from tau_1 = 1 to tau_S = T: strictly increasing, since S <= T.
      r.time[i] = 1 + (2 * (i - 1) * (steps - 1) + (s_steps - 1)) / (2 * (s_steps - 1));
      r.abar[i] = abar[r.time[i]];
      r.alpha[i] = r.abar[i] / r.abar[i - 1];
      r.beta[i] = 1 - r.alpha[i];
    }
    return r;
  }

  // The mean coefficients and variance of q(x_{t-1} | x_t, x_0), t >= 1 (btilde_1 = 0: x_0 is known).
  double posterior_c0(std::size_t t) const { return std::sqrt(abar[t - 1]) * beta[t] / (1 - abar[t]); }
  double posterior_ct(std::size_t t) const { return std::sqrt(alpha[t]) * (1 - abar[t - 1]) / (1 - abar[t]); }
  double posterior_variance(std::size_t t) const { return (1 - abar[t - 1]) / (1 - abar[t]) * beta[t]; }
  // p(x_{t-1} | x_t)'s variance sigma_t^2: beta_t, Ho et al.'s "fixedlarge" choice, which is
  // positive at t = 1 where btilde_1 is 0 (the L_0 decoder needs a width).
  double model_variance(std::size_t t) const { return beta[t]; }
  // p(x_{t-1} | x_t)'s mean from the predicted noise: (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t).
  double mean_x_coefficient(std::size_t t) const { return 1 / std::sqrt(alpha[t]); }
  double mean_eps_coefficient(std::size_t t) const { return beta[t] / (std::sqrt(1 - abar[t]) * std::sqrt(alpha[t])); }
  // The sampler's mean of x_{t-1}: x_0 predicted from the noise, x0 = (x_t - sqrt(1 - abar_t) eps) /
  // sqrt(abar_t), clipped to the data's [-1, 1], then q(x_{t-1} | x_t, x0)'s mean, as Ho et al.'s
  // code samples (clip_denoised). Unclipped it is the mean above; the bound keeps that one, since
  // clipping is the sampler's, not the model's density.
  double sample_mean(std::size_t t, double x_t, double eps) const {
    const double x0 = std::clamp((x_t - std::sqrt(1 - abar[t]) * eps) / std::sqrt(abar[t]), -1.0, 1.0);
    return posterior_c0(t) * x0 + posterior_ct(t) * x_t;
  }
};

}  // namespace vk::vae
