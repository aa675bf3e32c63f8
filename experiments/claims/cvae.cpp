// Claim 9: a conditional VAE follows its label only as far as z does not carry it too, measured
// as cvae-compare measures conditional generation: the classifier's agreement with the asked class.
#include <fmt/format.h>

#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"

namespace vk::claims {

namespace {

constexpr std::size_t kBaseLatent = 20;
constexpr double kBaseBeta = 1;
const std::vector<std::size_t> kLatents = {2, kBaseLatent, 64};
const std::vector<double> kBetas = {0.25, kBaseBeta, 4};

// The share of draws z ~ p(z), decoded with label y, that the classifier calls y.
double conditional_accuracy(Context& ctx, std::size_t latent, double beta, std::uint64_t seed, std::size_t per_class) {
  vae::ModelConfig mc;
  mc.kind = "cvae";
  mc.likelihood = vae::LikelihoodKind::bernoulli;
  mc.condition = vae::Condition::encoder_decoder;
  mc.hidden = ctx.settings.hidden;
  mc.latent = latent;
  mc.input_dim = ctx.data.train.dim();
  mc.image = ctx.data.train.shape();
  mc.classes = ctx.data.train.classes;
  auto model = train_model(mc, ctx.data.train, {.seed = seed, .binarize = data::Binarize::dynamic, .beta = beta},
                           ctx.settings.epochs, fmt::format("seed {} cvae latent {} beta {}", seed, latent, beta));
  Rng rng(seed + 700);
  const std::vector<float> samples = vae::sample_by_class(*model, mc.classes, per_class, rng);
  const std::vector<std::uint8_t> seen = ctx.classifier->predict(samples.data(), mc.classes * per_class);
  std::size_t right = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) right += seen[i] == i / per_class;
  return double(right) / double(seen.size());
}

}  // namespace

Claim cvae_claim(Context& ctx) {
  fmt::print(stderr, "claim 9: CVAE conditional accuracy\n");
  const std::size_t per_class = ctx.settings.quick ? 50 : 200;
  Claim c{9, "cvae-label-vs-z",
          "The lecture's CVAE follows its label only when the label is not also carried by z: its conditional "
          "accuracy falls as the latent space grows and rises with the weight of the KL term (β)."};
  c.rule = fmt::format("Bernoulli CVAEs (label at encoder and decoder, cvae-compare's encoder-decoder variant), "
                       "dim(z) in {{2, 20, 64}} at β = 1 and β in {{0.25, 1, 4}} at dim(z) = 20; accuracy: the share "
                       "of {} draws per class z ~ N(0, I) decoded with label y that the classifier calls y. Per seed "
                       "the latent part holds if accuracy at dim(z) = 2 exceeds that at 64, the β part if accuracy at "
                       "β = 4 exceeds that at 0.25. Each part supported if it holds in every seed; both supported: "
                       "supported, both not: not supported, else mixed.", per_class);
  c.settings = {{"latents", kLatents}, {"betas", kBetas}, {"per_class", per_class}, {"likelihood", "bernoulli"},
                {"condition", "encoder-decoder"}};
  std::vector<std::vector<double>> by_latent(kLatents.size()), by_beta(kBetas.size());
  std::vector<bool> latent_ok, beta_ok;
  for (std::uint64_t seed : ctx.seed_list()) {
    for (std::size_t i = 0; i < kLatents.size(); ++i)
      by_latent[i].push_back(conditional_accuracy(ctx, kLatents[i], kBaseBeta, seed, per_class));
    for (std::size_t i = 0; i < kBetas.size(); ++i)
      by_beta[i].push_back(kBetas[i] == kBaseBeta ? by_latent[1].back()
                                                  : conditional_accuracy(ctx, kBaseLatent, kBetas[i], seed, per_class));
    latent_ok.push_back(by_latent.front().back() > by_latent.back().back());
    beta_ok.push_back(by_beta.back().back() > by_beta.front().back());
  }
  std::vector<Spread> lat, bet;
  for (std::size_t i = 0; i < kLatents.size(); ++i) {
    c.add(fmt::format("conditional accuracy, dim(z) = {}, β = 1", kLatents[i]), by_latent[i]);
    lat.push_back(c.figures.back().second);
  }
  for (std::size_t i = 0; i < kBetas.size(); ++i) {
    if (kBetas[i] != kBaseBeta) c.add(fmt::format("conditional accuracy, dim(z) = 20, β = {}", kBetas[i]), by_beta[i]);
    bet.push_back(spread(by_beta[i]));
  }
  c.verdict = both(by_seeds(latent_ok), by_seeds(beta_ok));
  c.summary = fmt::format("conditional accuracy was {:.3f} / {:.3f} / {:.3f} at dim(z) = 2 / 20 / 64 and "
                          "{:.3f} / {:.3f} / {:.3f} at β = 0.25 / 1 / 4", lat[0].mean, lat[1].mean, lat[2].mean,
                          bet[0].mean, bet[1].mean, bet[2].mean);
  std::vector<double> lx(kLatents.begin(), kLatents.end());
  c.pictures.push_back({"claim9-latent", "Conditional accuracy against dim(z) at β = 1 (mean over seeds).",
                        report::line_chart({mean_series("accuracy", lx, lat)}, {"dim(z)", "accuracy", false, true}), {}});
  c.pictures.push_back({"claim9-beta", "Conditional accuracy against β at dim(z) = 20 (mean over seeds).",
                        report::line_chart({mean_series("accuracy", kBetas, bet)}, {"β", "accuracy", false, false}), {}});
  return c;
}

}  // namespace vk::claims
