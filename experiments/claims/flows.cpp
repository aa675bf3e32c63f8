// Claims 10 and 11: the lecture's first answer to the VAE's limits, normalizing flows.
//  10  Q(z|X) only approximates P(z|X): the slack NELBO - IW NLL, the part of the bound's gap that
//      the posterior causes, shrinks as q(z|x) becomes an IAF of T = 2, 4, 8 steps.
//  11  An invertible model has P(x) in closed form: a flow's density integrates to 1 (a 2-D toy,
//      Monte Carlo over the unit square), and its x -> z -> x round trip is exact to float
//      precision where a VAE's decoder, of rank at most dim z (claim 1), cannot give x back.
#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"
#include "vae/evaluate.hpp"
#include "vae/registry.hpp"

namespace vk::claims {

namespace {

const std::vector<std::size_t> kSteps = {0, 2, 4, 8};
constexpr std::uint64_t kTestBinarize = 5;

struct Gap {
  double nelbo, iw_nll;
};

Gap posterior_gap(Context& ctx, const data::ImageSet& test, std::size_t steps, std::uint64_t seed, std::size_t k) {
  vae::ModelConfig mc;
  mc.kind = "vae";
  mc.likelihood = vae::LikelihoodKind::bernoulli;
  mc.hidden = ctx.settings.hidden;
  mc.latent = ctx.settings.latent;
  mc.input_dim = ctx.data.train.dim();
  mc.image = ctx.data.train.shape();
  mc.settings = {{"posterior", steps ? "iaf" : "gaussian"}, {"flow-steps", std::to_string(steps)}, {"iaf-hidden", "128"}};
  auto model = train_model(mc, ctx.data.train, {.seed = seed, .binarize = data::Binarize::dynamic}, ctx.settings.epochs,
                           fmt::format("seed {} vae, IAF posterior of {} steps", seed, steps));
  const vae::EvalResult r = vae::evaluate(*model, test, {.seed = seed, .iw_samples = k});
  return {r.nelbo, r.iw_nll};
}

// A 2-D toy as 8-bit "images" of two pixels: a ring of radius 0.3 around (0.5, 0.5) with width 0.04.
data::ImageSet ring(std::size_t n, std::uint64_t seed) {
  data::ImageSet set;
  set.count = n;
  set.height = 1;
  set.width = 2;
  set.classes = 1;
  set.labels.assign(n, 0);
  Rng rng(seed);
  std::uniform_real_distribution<double> angle(0, 2 * std::numbers::pi);
  std::normal_distribution<double> radius(0.3, 0.04);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = angle(rng), r = radius(rng);
    for (double v : {0.5 + r * std::cos(a), 0.5 + r * std::sin(a)})
      set.pixels.push_back(std::uint8_t(std::clamp(std::floor(v * 256), 0.0, 255.0)));
  }
  return set;
}

vae::ModelConfig flow_config(std::size_t dim, std::vector<std::size_t> hidden, std::size_t steps) {
  vae::ModelConfig mc;
  mc.kind = "flow";
  mc.input_dim = mc.latent = dim;
  mc.hidden = std::move(hidden);
  mc.settings = {{"flow-steps", std::to_string(steps)}};
  return mc;
}

// The integral of a 2-D flow density over the unit square by Monte Carlo: its mean and standard error.
std::pair<double, double> mass_of(vae::Model<float>& flow, std::size_t draws, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(2 * draws);
  fill_uniform<float>(rng, x, 0.f, 1.f);
  Tape<float> t;
  NoGradGuard guard(t);
  const vae::Terms<float> terms =
      vae::terms(flow, t.constant(x.data(), draws, 2), std::optional<Var<float>>{}, t.constant_uninitialized(draws, 0), vae::Objective{}, false);
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < draws; ++i) {
    const double p = std::exp(-double(terms.rec.node().value[i]));
    sum += p;
    sq += p * p;
  }
  const double mean = sum / double(draws);
  return {mean, std::sqrt((sq / double(draws) - mean * mean) / double(draws))};
}

// The largest |x - f^-1(f(x))| over the pixels of the test images, and the VAE's root mean square
// |x - D(mu(x))| over the same pixels.
std::pair<double, double> round_trips(vae::Model<float>& flow, vae::Model<float>& vae_model, const data::ImageSet& test) {
  data::Batcher<float> batches(test, {.batch = 500, .shuffle = false, .dequantize = data::Dequantize::static_});
  double worst = 0, sq = 0;
  std::size_t n = 0;
  while (batches.next()) {
    Tape<float> t;
    NoGradGuard guard(t);
    const Var<float> x = t.constant(batches.x());
    const Var<float> back = flow.mean_image(flow.decode(flow.encode(x).mu));
    const Var<float> recon = vae_model.mean_image(vae_model.decode(vae_model.encode(x).mu));
    for (std::size_t e = 0; e < x.rows() * x.cols(); ++e) {
      const double v = x.node().value[e];
      worst = std::max(worst, std::abs(v - double(back.node().value[e])));
      sq += std::pow(v - double(recon.node().value[e]), 2);
    }
    n += x.rows() * x.cols();
  }
  return {worst, std::sqrt(sq / double(n))};
}

}  // namespace

Claim posterior_gap_claim(Context& ctx) {
  fmt::print(stderr, "claim 10: the posterior's share of the bound's gap\n");
  const std::size_t k = ctx.settings.quick ? 100 : 500;
  data::ImageSet test = ctx.test;
  data::binarize_static(test, kTestBinarize);
  Claim c{10, "posterior-gap",
          "Q(z|X) only approximates P(z|X): the slack of the ELBO, NELBO - (-log p(x)), shrinks as the posterior "
          "becomes more flexible (inverse autoregressive flow steps on the diagonal Gaussian)."};
  c.rule = fmt::format("Bernoulli VAEs with the same networks and epochs, q(z|x) the diagonal Gaussian (T = 0) or pushed "
                       "through T = 2, 4, 8 IAF steps (--posterior iaf, 128 hidden units, the encoder trunk as context); "
                       "on {} binarized test images, the gap NELBO - IW NLL with K = {}. Per seed it holds if the gap at "
                       "T = 8 is below the gap at T = 0; supported if it holds in every seed, not supported if in none, "
                       "else mixed.", test.count, k);
  c.settings = {{"flow_steps", kSteps}, {"iw_samples", k}, {"iaf_hidden", 128}, {"likelihood", "bernoulli"}};
  std::vector<std::vector<double>> gaps(kSteps.size()), nll(kSteps.size());
  std::vector<bool> shrinks;
  for (std::uint64_t seed : ctx.seed_list()) {
    for (std::size_t i = 0; i < kSteps.size(); ++i) {
      const Gap g = posterior_gap(ctx, test, kSteps[i], seed, k);
      gaps[i].push_back(g.nelbo - g.iw_nll);
      nll[i].push_back(g.iw_nll);
    }
    shrinks.push_back(gaps.back().back() < gaps.front().back());
  }
  std::vector<Spread> gap_spread;
  for (std::size_t i = 0; i < kSteps.size(); ++i) {
    c.add(fmt::format("NELBO - IW NLL (nats), T = {}", kSteps[i]), gaps[i]);
    gap_spread.push_back(c.figures.back().second);
  }
  for (std::size_t i = 0; i < kSteps.size(); ++i) c.add(fmt::format("IW NLL (nats), T = {}", kSteps[i]), nll[i]);
  c.verdict = by_seeds(shrinks);
  c.summary = fmt::format("the gap NELBO - IW NLL was {:.2f} / {:.2f} / {:.2f} / {:.2f} nats with T = 0 / 2 / 4 / 8 IAF steps",
                          gap_spread[0].mean, gap_spread[1].mean, gap_spread[2].mean, gap_spread[3].mean);
  const std::vector<double> x(kSteps.begin(), kSteps.end());
  c.pictures.push_back({"claim10-gap", "NELBO - IW NLL against the IAF steps T of q(z|x) (mean over seeds).",
                        report::line_chart({mean_series("gap", x, gap_spread)}, {"IAF steps T", "nats", false, false}), {}});
  return c;
}

Claim exact_density_claim(Context& ctx) {
  fmt::print(stderr, "claim 11: a flow's density in closed form\n");
  const Settings& s = ctx.settings;
  const std::size_t draws = s.quick ? 200'000 : 2'000'000;
  Claim c{11, "flow-exact-density",
          "An invertible model gives P(x) in closed form: a normalizing flow's density integrates to 1, and x -> z -> x "
          "gives x back to float precision, where a VAE's decoder cannot be inverted."};
  c.rule = fmt::format("(a) A flow (4 steps, couplings 64-64) trained on a dequantized 2-D ring; its density, by the change "
                       "of variables, integrated over the unit square by {} uniform draws: holds if within 3 standard "
                       "errors of 1. (b) A flow (2 steps, couplings {}) trained on the Fashion-MNIST images, and the "
                       "claims' Gaussian VAE: holds if the flow's largest |x - f^-1(f(x))| over the dequantized test pixels "
                       "is below 1e-4 and the VAE's root mean square |x - D(mu(x))| is above 100 times it. Per seed both "
                       "parts; supported if both hold in every seed.", draws, s.hidden.front());
  c.settings = {{"mc_draws", draws}, {"toy", "ring r = 0.3, width 0.04, 8-bit"}, {"toy_steps", 4}, {"image_steps", 2}};
  std::vector<double> mass, errors, worst, vae_rms;
  std::vector<bool> holds;
  const data::ImageSet toy = ring(s.quick ? 4000 : 20000, 77);
  for (const SeedModels& m : ctx.seeds) {
    auto toy_flow = train_model(flow_config(2, {64, 64}, 4), toy, {.seed = m.seed, .dequantize = true},
                                s.quick ? 20 : 40, fmt::format("seed {} 2-D flow", m.seed));
    const auto [z, se] = mass_of(*toy_flow, draws, m.seed + 11);
    mass.push_back(z);
    errors.push_back(se);
    auto image_flow = train_model(flow_config(ctx.data.train.dim(), s.hidden, 2), ctx.data.train,
                                  {.seed = m.seed, .dequantize = true}, 1, fmt::format("seed {} image flow", m.seed));
    const auto [w, rms] = round_trips(*image_flow, *m.vae, ctx.test);
    worst.push_back(w);
    vae_rms.push_back(rms);
    holds.push_back(std::abs(z - 1) <= 3 * se && w < 1e-4 && rms > 100 * w);
  }
  c.add("integral of the 2-D flow's density over the unit square", mass);
  c.add("its Monte Carlo standard error", errors);
  c.add("flow: largest |x - f^-1(f(x))| over test pixels", worst);
  c.add("VAE: root mean square |x - D(mu(x))| over test pixels", vae_rms);
  c.verdict = by_seeds(holds);
  c.summary = fmt::format("the 2-D flow's density integrated to {:.4f} (standard error {:.4f}); the image flow's round trip "
                          "erred by at most {:.1e}, the VAE's reconstruction by {:.3f} (root mean square)",
                          c.get("integral of the 2-D flow's density over the unit square").mean,
                          c.get("its Monte Carlo standard error").mean,
                          c.get("flow: largest |x - f^-1(f(x))| over test pixels").mean,
                          c.get("VAE: root mean square |x - D(mu(x))| over test pixels").mean);
  return c;
}

}  // namespace vk::claims
