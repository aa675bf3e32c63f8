// The diffusion model (vae/kinds/diffusion.hpp): its schedule's closed form q(x_t | x_0) against
// the iterated chain, the per-step KL against a Monte Carlo estimate, the discretized decoder's
// masses, the simple loss and the bound against loops written here from the definitions (the
// posterior by Bayes' rule, the decoder by erfc in long double), and sampling fixed by its seed.
// The U-Net's gradients are checked with every kind in test_vae.cpp (all_variants).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "tests/vae_fixtures.hpp"
#include "vae/kinds/diffusion.hpp"

using namespace vk;
using namespace vk::vae;

namespace diffusion_tests {

constexpr std::size_t kSteps = 10;

ModelConfig tiny(const char* schedule = "linear") {
  ModelConfig c = vk::test_vae::small_config("diffusion");  // 8x8 grey images: UNet<1, 8, 8, 8>
  c.settings = {{"diffusion-steps", std::to_string(kSteps)}, {"beta-schedule", schedule}, {"bound-images", "3"}};
  return c;
}

// KL(N(m1, v1) || N(m2, v2)) of one dimension.
double gaussian_kl(double m1, double v1, double m2, double v2) {
  return 0.5 * (std::log(v2 / v1) + (v1 + (m1 - m2) * (m1 - m2)) / v2 - 1);
}

// log of N(mean, sd^2)'s mass on 8-bit value v's bin of Ho's [-1, 1] scale, in long double.
long double log_bin(int v, long double mean, long double sd) {
  // The mass below, or above where the bin lies above the mean, so that nothing cancels.
  auto below = [&](long double x) { return 0.5L * std::erfc(-(x - mean) / (sd * std::numbers::sqrt2_v<long double>)); };
  auto above = [&](long double x) { return 0.5L * std::erfc((x - mean) / (sd * std::numbers::sqrt2_v<long double>)); };
  const long double x = 2.0L * v / 255 - 1, h = 1.0L / 255;
  if (v == 0) return std::log(below(x + h));
  if (v == 255) return std::log(above(x - h));
  if (x - h > mean) return std::log(above(x - h) - above(x + h));
  return std::log(below(x + h) - below(x - h));
}

}  // namespace diffusion_tests

TEST_CASE("the schedules: Ho's linear betas at T = 1000, the cosine's abar, both decreasing to near 0") {
  const DiffusionSchedule linear(1000, BetaSchedule::linear), cosine(1000, BetaSchedule::cosine);
  CHECK(linear.beta[1] == doctest::Approx(1e-4));
  CHECK(linear.beta[1000] == doctest::Approx(0.02));
  CHECK(linear.abar[1000] == doctest::Approx(4.04e-5).epsilon(0.01));
  const double s = 0.008, f0 = std::pow(std::cos(s / (1 + s) * std::numbers::pi / 2), 2);
  CHECK(cosine.abar[500] == doctest::Approx(std::pow(std::cos((0.5 + s) / (1 + s) * std::numbers::pi / 2), 2) / f0));
  for (const DiffusionSchedule* sc : {&linear, &cosine})
    for (std::size_t t = 1; t <= 1000; ++t) {
      CHECK(sc->abar[t] < sc->abar[t - 1]);
      CHECK(sc->beta[t] <= 0.999);
    }
  CHECK_THROWS_WITH_AS(DiffusionSchedule(1, BetaSchedule::linear), "--diffusion-steps must be at least 2, not 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_beta_schedule("quadratic"), doctest::Contains("linear or cosine"), std::invalid_argument);
}

TEST_CASE("q(x_t | x_0) in closed form has the moments of the chain x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps") {
  for (const BetaSchedule kind : {BetaSchedule::linear, BetaSchedule::cosine}) {
    const DiffusionSchedule s(20, kind);
    const double x0 = 0.7;
    const std::size_t draws = 40000;
    Rng rng(11);
    std::normal_distribution<double> normal;
    std::vector<double> sum(21, 0.0), sq(21, 0.0);
    for (std::size_t n = 0; n < draws; ++n) {
      double x = x0;
      for (std::size_t t = 1; t <= 20; ++t) {
        x = std::sqrt(1 - s.beta[t]) * x + std::sqrt(s.beta[t]) * normal(rng);
        sum[t] += x;
        sq[t] += x * x;
      }
    }
    for (const std::size_t t : {1, 5, 10, 20}) {
      CAPTURE(t);
      const double mean = sum[t] / draws, var = sq[t] / draws - mean * mean;
      const double want_mean = std::sqrt(s.abar[t]) * x0, want_var = 1 - s.abar[t];
      CHECK(std::abs(mean - want_mean) < 4 * std::sqrt(want_var / draws));
      // The variance's standard error is about var sqrt(2 / n) for a Gaussian.
      CHECK(std::abs(var - want_var) < 4 * want_var * std::sqrt(2.0 / draws));
    }
  }
}

TEST_CASE("the discretized decoder's 256 masses sum to 1 and match erfc in long double") {
  for (const double mean : {-1.2, -0.3, 0.0, 0.99})
    for (const double sd : {0.003, 0.1, 2.0}) {
      long double total = 0;
      for (int v = 0; v < 256; ++v) {
        const double lm = discretized_gaussian_log_mass(v, mean, sd);
        total += std::exp((long double)lm);
        const long double want = diffusion_tests::log_bin(v, mean, sd);
        if (want > -600) CHECK(lm == doctest::Approx(double(want)).epsilon(1e-8));
      }
      CHECK(double(total) == doctest::Approx(1.0).epsilon(1e-10));
    }
}

TEST_CASE("the training loss is the mean squared error of the predicted noise at each row's t") {
  using namespace diffusion_tests;
  auto made = make_model<double>(tiny(), 5);
  auto& model = dynamic_cast<Diffusion<double>&>(*made);
  const std::size_t m = 6, d = 64;
  Rng rng(9);
  Matrix<double> x = vk::test::random_matrix(rng, m, d, 0, 1), eps = Matrix<double>::from_shape({m, d + 1});
  fill_normal<double>(rng, std::span<double>(eps.data(), eps.size()));
  Tape<double> tape;
  const LogWeights<double> lw = model.log_weights(tape.constant(x), std::nullopt, tape.constant(eps), Request{.training = true});
  std::vector<std::size_t> steps(m);
  Matrix<double> x_t = Matrix<double>::from_shape({m, d});
  for (std::size_t i = 0; i < m; ++i) {
    // t uniform in 1..T from the last column's normal CDF.
    steps[i] = std::min(kSteps, 1 + std::size_t(0.5 * std::erfc(-eps(i, d) / std::sqrt(2.0)) * kSteps));
    const double ab = model.schedule().abar[steps[i]];
    for (std::size_t j = 0; j < d; ++j) x_t(i, j) = std::sqrt(ab) * (2 * x(i, j) - 1) + std::sqrt(1 - ab) * eps(i, j);
  }
  const Var<double> eps_hat = model.predict_noise(tape.constant(x_t), steps);
  for (std::size_t i = 0; i < m; ++i) {
    double se = 0;
    for (std::size_t j = 0; j < d; ++j) se += std::pow(eps_hat.value()(i, j) - eps(i, j), 2);
    CHECK(lw.log_px.node().value[i] == doctest::Approx(-se / d).epsilon(1e-12));
  }
}

TEST_CASE("the per-step KL of the bound agrees with a Monte Carlo estimate of E_q[log q - log p]") {
  using namespace diffusion_tests;
  auto made = make_model<double>(tiny("cosine"), 6);
  auto& model = dynamic_cast<Diffusion<double>&>(*made);
  const DiffusionSchedule& s = model.schedule();
  const std::size_t d = 64, t = 4;
  std::vector<std::uint8_t> v(d);
  for (std::size_t j = 0; j < d; ++j) v[j] = std::uint8_t((j * 37) % 256);
  const std::uint64_t key = 1234;
  const std::vector<double> terms = model.bound_terms(v.data(), 1, std::span<const std::uint64_t>(&key, 1));
  // The bound's x_t and the model's mean at it.
  std::vector<double> e(d), x0(d), x_t(d);
  keyed_normal(key_of(key, t), std::span<double>(e));
  Matrix<double> xt = Matrix<double>::from_shape({1, d});
  for (std::size_t j = 0; j < d; ++j) {
    x0[j] = 2.0 * v[j] / 255 - 1;
    xt(0, j) = x_t[j] = std::sqrt(s.abar[t]) * x0[j] + std::sqrt(1 - s.abar[t]) * e[j];
  }
  Tape<double> tape;
  const std::vector<std::size_t> at{t};
  const Var<double> eps_hat = model.predict_noise(tape.constant(xt), at);
  Rng rng(21);
  std::normal_distribution<double> normal;
  const std::size_t draws = 20000;
  std::vector<double> samples(draws);
  const double qv = s.posterior_variance(t), pv = s.beta[t];
  for (double& sample : samples) {
    double log_ratio = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double qm = s.posterior_c0(t) * x0[j] + s.posterior_ct(t) * x_t[j];
      const double pm = (x_t[j] - s.beta[t] / std::sqrt(1 - s.abar[t]) * eps_hat.value()(0, j)) / std::sqrt(s.alpha[t]);
      const double z = qm + std::sqrt(qv) * normal(rng);
      log_ratio += -0.5 * std::log(qv) - 0.5 * (z - qm) * (z - qm) / qv + 0.5 * std::log(pv) + 0.5 * (z - pm) * (z - pm) / pv;
    }
    sample = log_ratio;
  }
  const auto mc = vk::test_vae::mean_se(samples);
  CAPTURE(mc.mean);
  CAPTURE(mc.se);
  CHECK(std::abs(terms[t - 1] - mc.mean) < 4 * mc.se);
  CHECK(mc.se < 0.05 * std::abs(mc.mean));  // the check has teeth
}

TEST_CASE("the bound of a tiny model equals its terms summed by a loop written from the definitions") {
  using namespace diffusion_tests;
  for (const char* schedule : {"linear", "cosine"}) {
    CAPTURE(schedule);
    auto made = make_model<double>(tiny(schedule), 8);
    auto& model = dynamic_cast<Diffusion<double>&>(*made);
    Rng perturb(1);  // off the initial values, where every conv bias is 0
    for (double& p : model.params().values()) p += std::uniform_real_distribution<double>(-0.05, 0.05)(perturb);
    const DiffusionSchedule& s = model.schedule();
    const std::size_t m = 3, d = 64, T = kSteps;
    Rng rng(4);
    Matrix<double> x = Matrix<double>::from_shape({m, d}), eps = Matrix<double>::from_shape({m, d + 1});
    fill_normal<double>(rng, std::span<double>(eps.data(), eps.size()));
    for (std::size_t e = 0; e < x.size(); ++e) x.data()[e] = (double(rng() % 256) + 0.5) / 256;  // dequantized
    Tape<double> tape;
    const LogWeights<double> lw = model.log_weights(tape.constant(x), std::nullopt, tape.constant(eps), Request{});
    for (std::size_t i = 0; i < m; ++i) {
      const std::uint64_t key = std::bit_cast<std::uint64_t>(eps(i, d));
      std::vector<double> x0(d);
      for (std::size_t j = 0; j < d; ++j) x0[j] = 2.0 * std::floor(x(i, j) * 256) / 255 - 1;
      double bound = 0;
      for (std::size_t j = 0; j < d; ++j) bound += gaussian_kl(std::sqrt(s.abar[T]) * x0[j], 1 - s.abar[T], 0, 1);  // L_T
      for (std::size_t t = 1; t <= T; ++t) {
        std::vector<double> e(d);
        keyed_normal(key_of(key, t), std::span<double>(e));
        Matrix<double> xt = Matrix<double>::from_shape({1, d});
        for (std::size_t j = 0; j < d; ++j) xt(0, j) = std::sqrt(s.abar[t]) * x0[j] + std::sqrt(1 - s.abar[t]) * e[j];
        Tape<double> net_tape;
        const std::vector<std::size_t> at{t};
        const Var<double> eps_hat = model.predict_noise(net_tape.constant(xt), at);
        for (std::size_t j = 0; j < d; ++j) {
          const double mean = (xt(0, j) - s.beta[t] / std::sqrt(1 - s.abar[t]) * eps_hat.value()(0, j)) / std::sqrt(s.alpha[t]);
          if (t == 1) {
            bound -= double(log_bin(int(std::lround((x0[j] + 1) * 255 / 2)), mean, std::sqrt(s.beta[1])));
            continue;
          }
          // q(x_{t-1} | x_t, x_0) by Bayes' rule: N(sqrt(abar_{t-1}) x_0, 1 - abar_{t-1}) times N(x_t; sqrt(alpha_t) x_{t-1}, beta_t).
          const double precision = 1 / (1 - s.abar[t - 1]) + s.alpha[t] / s.beta[t];
          const double qm = (std::sqrt(s.abar[t - 1]) * x0[j] / (1 - s.abar[t - 1]) + std::sqrt(s.alpha[t]) * xt(0, j) / s.beta[t]) / precision;
          bound += gaussian_kl(qm, 1 / precision, mean, s.beta[t]);
        }
      }
      CHECK(lw.log_px.node().value[i] == doctest::Approx(d * std::log(256.0) - bound).epsilon(1e-9));
    }
  }
}

TEST_CASE("evaluation reads --bound-images images and the bound in bits/dim is finite") {
  using namespace diffusion_tests;
  auto made = make_model<float>(tiny(), 2);
  const data::ImageSet set = vk::test_vae::blobs(10, 3);
  EvalOptions o;
  o.dequantize = true;
  const EvalResult r = evaluate(*made, set, o);
  CHECK(r.count == 3);
  CHECK(r.limited_by_model);
  CHECK(std::isfinite(r.nelbo));
  CHECK(bits_per_dim(r.nelbo, 64) > 0);
}

TEST_CASE("sampling: the ancestral chain is fixed by its seed, and images are in [0, 1]") {
  using namespace diffusion_tests;
  auto made = make_model<float>(tiny(), 3);
  auto draw = [&](std::uint64_t seed) {
    Rng rng(seed);
    Tape<float> tape;
    std::vector<float> out(4 * 64);
    made->sample(tape, std::nullopt, 4, rng, out);
    return out;
  };
  const std::vector<float> a = draw(7), b = draw(7), c = draw(8);
  CHECK(a == b);
  CHECK(a != c);
  for (float v : a) CHECK((v >= 0.f && v <= 1.f));
}

TEST_CASE("the respaced chain keeps abar at its steps, and S = T is the chain itself") {
  const DiffusionSchedule full(1000, BetaSchedule::linear);
  for (std::size_t s : {2, 10, 100, 999}) {
    const DiffusionSchedule r = full.respaced(s);
    CHECK(r.steps == s);
    CHECK(r.time[1] == 1);
    CHECK(r.time[s] == 1000);
    double abar = 1;
    for (std::size_t i = 1; i <= s; ++i) {
      if (i > 1) CHECK(r.time[i] > r.time[i - 1]);
      abar *= r.alpha[i];
      // q(x_{tau_i} | x_0) unchanged: the product of the new alphas is the old abar at tau_i.
      CHECK(abar == doctest::Approx(full.abar[r.time[i]]).epsilon(1e-12));
      CHECK((r.beta[i] > 0 && r.beta[i] < 1));
    }
  }
  const DiffusionSchedule same = full.respaced(1000);
  CHECK(same.beta == full.beta);
  CHECK(same.time == full.time);
  CHECK_THROWS_WITH_AS(full.respaced(1), doctest::Contains("--sample-steps"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(full.respaced(1001), doctest::Contains("--sample-steps"), std::invalid_argument);
}

TEST_CASE("the sampler's mean: the noise form where x_0's prediction is in [-1, 1], the clipped x_0's posterior mean where not") {
  std::size_t in_range = 0;
  for (const char* kind : {"linear", "cosine"}) {
    const DiffusionSchedule s(50, parse_beta_schedule(kind));
    for (std::size_t t : {1, 2, 25, 50}) {
      const double x_t = 0.3, eps = 0.2;
      const double x0 = (x_t - std::sqrt(1 - s.abar[t]) * eps) / std::sqrt(s.abar[t]);
      if (std::abs(x0) <= 1 && ++in_range)
        CHECK(s.sample_mean(t, x_t, eps) == doctest::Approx(s.mean_x_coefficient(t) * x_t - s.mean_eps_coefficient(t) * eps).epsilon(1e-12));
      // A noise prediction that puts x_0 far outside the data: the mean is the posterior's at x_0 = 1.
      const double wild = -50;
      CHECK(s.sample_mean(t, x_t, wild) == doctest::Approx(s.posterior_c0(t) * 1.0 + s.posterior_ct(t) * x_t).epsilon(1e-12));
    }
  }
  CHECK(in_range > 0);  // the noise form was compared at least once
}

TEST_CASE("sampling on --sample-steps S of the T steps: S = T draws what the full chain draws") {
  using namespace diffusion_tests;
  auto draw = [](const ModelConfig& c) {
    auto made = make_model<float>(c, 3);
    Rng rng(5);
    Tape<float> tape;
    std::vector<float> out(4 * 64);
    made->sample(tape, std::nullopt, 4, rng, out);
    return out;
  };
  ModelConfig all = tiny(), same = tiny(), fewer = tiny();
  same.settings["sample-steps"] = std::to_string(kSteps);
  fewer.settings["sample-steps"] = "4";
  const std::vector<float> a = draw(all), b = draw(same), c = draw(fewer);
  CHECK(a == b);
  CHECK(a != c);
  for (float v : c) CHECK((v >= 0.f && v <= 1.f));
  fewer.settings["sample-steps"] = std::to_string(kSteps + 1);
  CHECK_THROWS_WITH_AS(make_model<float>(fewer, 1), doctest::Contains("--sample-steps"), std::invalid_argument);
}

TEST_CASE("bad settings stop with one line") {
  using namespace diffusion_tests;
  ModelConfig c = tiny();
  c.settings["diffusion-steps"] = "1";
  CHECK_THROWS_WITH_AS(make_model<float>(c, 1), doctest::Contains("--diffusion-steps"), std::invalid_argument);
  c = tiny();
  c.settings["beta-schedule"] = "quadratic";
  CHECK_THROWS_WITH_AS(make_model<float>(c, 1), doctest::Contains("--beta-schedule"), std::invalid_argument);
  c = tiny();
  c.input_dim = c.latent = 36;
  CHECK_THROWS_WITH_AS(make_model<float>(c, 1), doctest::Contains("built for 28x28x1, 32x32x3 and 8x8x1"), std::invalid_argument);
}
