#include "vae/kinds/diffusion.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "vae/registry.hpp"

namespace vk::vae {
namespace {

// The bound's and the sampler's passes take this many images at once: a pass of the 28x28 U-Net
// keeps ~10 MB of values per image on the tape.
constexpr std::size_t kChunk = 50;

Denoisers make_denoiser(Shape s) {
  if (s == UNet<1, 28, 28, 32>::shape()) return UNet<1, 28, 28, 32>();
  if (s == UNet<3, 32, 32, 32>::shape()) return UNet<3, 32, 32, 32>();
  if (s == UNet<1, 8, 8, 8>::shape()) return UNet<1, 8, 8, 8>();
  throw std::invalid_argument(fmt::format(
      "--model diffusion's U-Net is built for 28x28x1, 32x32x3 and 8x8x1 images (height x width x channels); the data are {}",
      s.text()));
}

// Phi(z) and log Phi(z) of the standard normal, accurate in both tails.
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }
double log_normal_cdf(double z) {
  if (z > -30) return std::log(normal_cdf(z));
  // Below, erfc nears underflow; the asymptotic series to 1/z^6 is exact there to 2e-10.
  const double r = 1 / (z * z);
  return -0.5 * z * z - std::log(-z) - 0.5 * std::log(2 * std::numbers::pi) + std::log1p(-r + 3 * r * r - 15 * r * r * r);
}

}  // namespace

double discretized_gaussian_log_mass(int v, double mean, double sd) {
  const double x0 = 2.0 * v / 255 - 1, h = 1.0 / 255;
  const double lo = (x0 - h - mean) / sd, hi = (x0 + h - mean) / sd;
  if (v <= 0) return log_normal_cdf(hi);
  if (v >= 255) return log_normal_cdf(-lo);
  // log(Phi(b) - Phi(a)) = log Phi(b) + log(1 - e^{log Phi(a) - log Phi(b)}) on the side of the
  // tail the bin lies in, where neither cancels nor underflows.
  const double upper = lo > 0 ? log_normal_cdf(-lo) : log_normal_cdf(hi);
  const double lower = lo > 0 ? log_normal_cdf(-hi) : log_normal_cdf(lo);
  return upper + std::log(-std::expm1(lower - upper));
}

template <class T>
Diffusion<T>::Diffusion(const ModelConfig& c, std::uint64_t seed)
    : NoiselessModel<T>(c),
      schedule_(c.count_setting("diffusion-steps", 2), parse_beta_schedule(c.setting("beta-schedule").value_or("linear"))),
      sampler_(schedule_.respaced(c.count_setting("sample-steps", 0) ? c.count_setting("sample-steps", 0) : schedule_.steps)),
      bound_images_(c.count_setting("bound-images")),
      net_(make_denoiser(c.image_shape())) {
  c.validate();
  if (c.latent != c.input_dim)
    throw std::invalid_argument(fmt::format("--model diffusion's latents have x's shape: --latent must be {}, not {}",
                                            c.input_dim, c.latent));
  Rng rng(seed);
  std::visit([&](auto& net) { net.build(this->store_, rng); }, net_);
}

template <class T>
Var<T> Diffusion<T>::predict_noise(Var<T> x_t, std::span<const std::size_t> steps) {
  return std::visit(
      [&](const auto& net) {
        constexpr std::size_t width = std::remove_cvref_t<decltype(net)>::kSinusoids;
        Var<T> s = x_t.tape->constant_uninitialized(x_t.rows(), width);
        for (std::size_t i = 0; i < x_t.rows(); ++i)
          time_sinusoids(double(steps[i]), std::span<T>(s.node().value + i * width, width));
        return net.forward(this->store_, x_t, s);
      },
      net_);
}

template <class T>
LogWeights<T> Diffusion<T>::log_weights(Var<T> x, std::optional<Var<T>> y, Var<T> eps, const Request& r) {
  if (y) throw std::invalid_argument("--model diffusion is unconditional: it takes no label");
  if (r.k != 1) throw std::invalid_argument("--model diffusion takes no importance samples (k = 1)");
  const std::size_t m = x.rows(), d = x.cols(), steps = schedule_.steps;
  Tape<T>& tape = *x.tape;
  LogWeights<T> lw;
  lw.code = x;
  if (!r.training) {
    // The bound of each image, its draws keyed by its eps (keyed by the image's index in evaluation).
    std::vector<std::uint8_t> values(m * d);
    std::vector<std::uint64_t> keys(m);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < d; ++j) values[i * d + j] = pixel_value(double(x.node().value[i * d + j]));
      keys[i] = std::bit_cast<std::uint64_t>(double(eps.node().value[i * (d + 1) + d]));
    }
    const std::vector<double> terms = bound_terms(values.data(), m, keys);
    lw.log_px = tape.constant_uninitialized(m, 1);
    for (std::size_t i = 0; i < m; ++i) {
      double bound = 0;
      for (std::size_t t = 0; t <= steps; ++t) bound += terms[i * (steps + 1) + t];
      lw.log_px.node().value[i] = T(double(d) * std::log(256.0) - bound);
    }
    return lw;
  }
  // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with t = 1 + floor(T Phi(eps_d)).
  steps_.resize(m);
  Var<T> noise = tape.constant_uninitialized(m, d), x_t = tape.constant_uninitialized(m, d);
  for (std::size_t i = 0; i < m; ++i) {
    const T* e = eps.node().value + i * (d + 1);
    const std::size_t t = std::min(steps, 1 + std::size_t(normal_cdf(double(e[d])) * double(steps)));
    steps_[i] = t;
    const T a = T(std::sqrt(schedule_.abar[t])), s = T(std::sqrt(1 - schedule_.abar[t]));
    for (std::size_t j = 0; j < d; ++j) {
      noise.node().value[i * d + j] = e[j];
      x_t.node().value[i * d + j] = a * (2 * x.node().value[i * d + j] - 1) + s * e[j];
    }
  }
  const Var<T> error = sub(predict_noise(x_t, steps_), noise);
  lw.log_px = scale(sum(square(error), 1), ScaleParams(-1.0 / double(d)));
  return lw;
}

template <class T>
std::vector<double> Diffusion<T>::bound_terms(const std::uint8_t* values, std::size_t n, std::span<const std::uint64_t> keys) {
  const std::size_t d = this->config_.input_dim, steps = schedule_.steps, width = steps + 1;
  const DiffusionSchedule& s = schedule_;
  std::vector<double> terms(n * width, 0.0), x0(d), e(d);
  std::vector<std::size_t> at(kChunk);
  // L_T = sum_j KL(N(sqrt(abar_T) x0_j, 1 - abar_T) || N(0, 1)), in closed form.
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      const double x = 2.0 * values[i * d + j] / 255 - 1, v = 1 - s.abar[steps];
      terms[i * width + steps] += 0.5 * (s.abar[steps] * x * x + v - 1 - std::log(v));
    }
  for (std::size_t begin = 0; begin < n; begin += kChunk) {
    const std::size_t rows = std::min(kChunk, n - begin);
    for (std::size_t t = 1; t <= steps; ++t) {
      chain_.reset();
      NoGradGuard guard(chain_);
      Var<T> x_t = chain_.constant_uninitialized(rows, d);
      const double a = std::sqrt(s.abar[t]), b = std::sqrt(1 - s.abar[t]);
      for (std::size_t i = 0; i < rows; ++i) {
        keyed_normal(key_of(keys[begin + i], t), std::span<double>(e));
        for (std::size_t j = 0; j < d; ++j)
          x_t.node().value[i * d + j] = T(a * (2.0 * values[(begin + i) * d + j] / 255 - 1) + b * e[j]);
      }
      std::fill_n(at.begin(), rows, s.time[t]);
      const Var<T> eps_hat = predict_noise(x_t, std::span<const std::size_t>(at.data(), rows));
      const double var = s.model_variance(t), sd = std::sqrt(var), btilde = s.posterior_variance(t);
      for (std::size_t i = 0; i < rows; ++i) {
        double term = 0;
        for (std::size_t j = 0; j < d; ++j) {
          const double xt = double(x_t.node().value[i * d + j]);
          const double mean = s.mean_x_coefficient(t) * xt - s.mean_eps_coefficient(t) * double(eps_hat.node().value[i * d + j]);
          const int v = values[(begin + i) * d + j];
          if (t == 1) {
            term -= discretized_gaussian_log_mass(v, mean, sd);
          } else {
            const double diff = s.posterior_c0(t) * (2.0 * v / 255 - 1) + s.posterior_ct(t) * xt - mean;
            term += 0.5 * (std::log(var / btilde) + (btilde + diff * diff) / var - 1);
          }
        }
        terms[(begin + i) * width + t - 1] = term;
      }
    }
  }
  return terms;
}

template <class T>
Var<T> Diffusion<T>::draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) {
  if (y) throw std::invalid_argument("--model diffusion is unconditional: it takes no label");
  const DiffusionSchedule& s = sampler_;
  const std::size_t d = this->config_.input_dim, steps = s.steps;
  std::normal_distribution<double> normal;
  std::vector<T> x(n * d);
  for (T& v : x) v = T(normal(rng));
  std::vector<std::size_t> at(kChunk);
  for (std::size_t t = steps; t >= 1; --t) {
    const double sd = std::sqrt(s.model_variance(t));
    for (std::size_t begin = 0; begin < n; begin += kChunk) {
      const std::size_t rows = std::min(kChunk, n - begin);
      chain_.reset();
      NoGradGuard guard(chain_);
      std::fill_n(at.begin(), rows, s.time[t]);
      const Var<T> eps_hat = predict_noise(chain_.constant(x.data() + begin * d, rows, d), std::span<const std::size_t>(at.data(), rows));
      for (std::size_t e = 0; e < rows * d; ++e) {
        T& v = x[begin * d + e];
        const double mean = s.sample_mean(t, double(v), double(eps_hat.node().value[e]));
        v = T(t > 1 ? mean + sd * normal(rng) : mean);
      }
    }
  }
  chain_.reset();
  Var<T> out = tape.constant_uninitialized(n, d);
  for (std::size_t e = 0; e < n * d; ++e) out.node().value[e] = std::clamp((x[e] + T(1)) / T(2), T(0), T(1));
  return out;
}

template <class T>
std::unique_ptr<Model<T>> make_diffusion(const ModelConfig& c, std::uint64_t seed) {
  return std::make_unique<Diffusion<T>>(c, seed);
}

template class Diffusion<float>;
template class Diffusion<double>;
VK_INSTANTIATE_FACTORY(make_diffusion)

}  // namespace vk::vae
