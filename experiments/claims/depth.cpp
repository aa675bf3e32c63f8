// Claim 12, the lecture's last slide: one decoder has to bridge N(0, I) to the data in one step,
// hence blur; stacking latents (a VAE whose prior is a VAE, ... up to a diffusion model's chain of
// T of them) should give sharper samples. Per seed, on the same training images: a VAE (one
// stochastic layer), HVAEs of two and three, and a diffusion model; their bounds in bits/dim of the
// 8-bit images, and their samples' Fréchet distance and Laplacian-variance ratio to test images.
#include <chrono>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"
#include "experiments/draw/png.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/run/sample_quality.hpp"
#include "vae/evaluate.hpp"

namespace vk::claims {

namespace {

// How big the experiment is. The full size was planned for ~25 minutes on 2 idle cores for 3 seeds
// from the diffusion step's 141 images/s, nearly all of it the diffusion model's training, bound
// and sampling (the MLP models take seconds); measured beside other jobs it took 50 min of CPU
// (README), so an idle run is likely somewhat over. --quick keeps every step of the code path at a
// few seconds per seed on one thread.
struct DepthSizes {
  std::size_t diffusion_steps, sample_steps, bound_images, diffusion_images, diffusion_epochs;
  std::size_t fd_images, iw_samples, latent_epochs;
};

DepthSizes depth_sizes(const Settings& s) {
  if (s.quick) return {50, 5, 2, 64, 1, 100, 20, 2};
  return {1000, 100, 10, s.train_limit, 2, 500, 100, s.epochs};
}

constexpr std::size_t kPictureColumns = 10;
constexpr std::uint64_t kTestDequantize = 5;

// One model's figures in one seed.
struct Row {
  double bound_bits = NAN, iw_bits = NAN, fd = NAN, sharpness = NAN, seconds = NAN;
  std::vector<float> samples;  // [fd_images, dim], clamped to [0, 1]
};

// Burda et al.'s networks, as --model hvae's defaults: 784-100-100-z(100), tanh, and each layer
// above 100-50-50-z_l; one layer is the plain VAE with the same first layer.
vae::ModelConfig latent_config(const data::ImageSet& train, std::size_t layers) {
  vae::ModelConfig mc;
  mc.kind = layers == 1 ? "vae" : "hvae";
  mc.hidden = {100, 100};
  mc.latent = 100;
  mc.hidden2 = {50, 50};
  const std::vector<std::size_t> above = {50, 20};
  mc.latents_above.assign(above.begin(), above.begin() + std::ptrdiff_t(layers - 1));
  mc.activation = Op::tanh;
  mc.input_dim = train.dim();
  mc.image = train.shape();
  return mc;
}

vae::ModelConfig diffusion_config(const data::ImageSet& train, const DepthSizes& z) {
  vae::ModelConfig mc;
  mc.kind = "diffusion";
  mc.input_dim = mc.latent = train.dim();
  mc.image = train.shape();
  mc.settings = {{"diffusion-steps", std::to_string(z.diffusion_steps)}, {"beta-schedule", "linear"},
                 {"bound-images", std::to_string(z.bound_images)}, {"sample-steps", std::to_string(z.sample_steps)}};
  return mc;
}

// What every model is measured against: the first fd_images test images and their sharpness.
struct Judge {
  Context& ctx;
  const DepthSizes& z;
  std::vector<float> real;
  double real_sharpness;
};

// Trains, evaluates on the dequantized test images and draws the samples of one model.
Row measure_model(const Judge& j, const vae::ModelConfig& mc, const data::ImageSet& train, const vae::TrainOptions& to,
                  std::size_t epochs, std::size_t iw_samples, const std::string& what) {
  Context& ctx = j.ctx;
  const DepthSizes& z = j.z;
  Row r;
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&clock] {
    const auto now = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(now - std::exchange(clock, now)).count();
  };
  auto model = train_model(mc, train, to, epochs, what);
  r.seconds = lap();
  const vae::EvalResult e = vae::evaluate(*model, ctx.test, {.seed = to.seed, .iw_samples = iw_samples,
                                                             .dequantize = true, .dequantize_seed = kTestDequantize});
  const std::size_t d = ctx.test.dim();
  r.bound_bits = vae::bits_per_dim(e.nelbo, d);
  if (iw_samples) r.iw_bits = vae::bits_per_dim(e.iw_nll, d);
  const double bound_seconds = lap();
  r.samples = programs::draw_samples(*model, z.fd_images, to.seed + 1200);
  r.fd = programs::feature_frechet(*ctx.classifier, r.samples.data(), j.real.data(), z.fd_images);
  r.sharpness = measure::mean_laplacian_variance(r.samples.data(), z.fd_images, ctx.test.height, ctx.test.width) /
                j.real_sharpness;
  fmt::print(stderr, "  {}: bound {:.3f} bits/dim, Fréchet distance {:.2f}, Laplacian ratio {:.3f} (seconds: {:.1f} "
             "training, {:.1f} bound, {:.1f} samples)\n", what, r.bound_bits, r.fd, r.sharpness, r.seconds, bound_seconds, lap());
  return r;
}

const std::vector<std::string> kModels = {"VAE (1 layer)", "HVAE (2 layers)", "HVAE (3 layers)", "diffusion"};

}  // namespace

Claim depth_claim(Context& ctx) {
  fmt::print(stderr, "claim 12: a deeper chain of latents\n");
  const Settings& s = ctx.settings;
  const DepthSizes z = depth_sizes(s);
  const data::ImageSet& train = ctx.data.train;
  const data::ImageSet diffusion_train = data::take_first(train, z.diffusion_images);
  Claim c{12, "deeper-chain-sharper",
          "A deeper chain of seeds generates sharper images than one decoder: a VAE's single decoder from N(0, I) "
          "blurs, a chain of latents (a VAE whose prior is a VAE, ..., a diffusion model) does not."};
  c.rule = fmt::format(
      "Per seed on the same {} training images: a VAE (784-100-100-z(100), tanh; 1 stochastic layer), HVAEs of 2 "
      "(+ 100-50-50-z2(50)) and 3 (+ z3(20)) layers, all Gaussian with learned σ² on dequantized pixels, {} epochs; "
      "a diffusion model (U-Net, T = {}, linear schedule, {} epoch(s) of {} images, batch 64, lr 5e-4, gradient norm "
      "clipped at 1). Samples: {} each; the VAE's and HVAEs' are decoder means D(z) of z ~ p(z) (ancestral through the "
      "layers), the diffusion model's the chain respaced to {} steps; clamped to [0, 1]. Fréchet distance of their "
      "features in the claims' classifier against {} test images; Laplacian-variance ratio samples / those test "
      "images. Per seed it holds if the diffusion model's ratio is closer to 1 than the VAE's (sharper) and its "
      "Fréchet distance is lower; each of the two is supported if it holds in every seed, not supported in none; "
      "both supported: supported, both not: not supported, else mixed.",
      train.count, z.latent_epochs, z.diffusion_steps, z.diffusion_epochs, diffusion_train.count, z.fd_images,
      z.sample_steps, z.fd_images);
  c.settings = {{"fd_images", z.fd_images}, {"latent_epochs", z.latent_epochs}, {"iw_samples", z.iw_samples},
                {"diffusion_steps", z.diffusion_steps}, {"sample_steps", z.sample_steps},
                {"bound_images", z.bound_images}, {"diffusion_images", diffusion_train.count},
                {"diffusion_epochs", z.diffusion_epochs}, {"bound_test_images", ctx.test.count},
                {"samples", "decoder means D(z), z ~ p(z), for the VAE and HVAEs; the respaced chain's x_0 for diffusion"},
                {"bound", "bits/dim of the 8-bit test images, dequantized: the NELBO (the diffusion model's L_vlb over "
                          "its first bound_images test images) and for the VAE and HVAEs the IW NLL"}};

  Judge judge{ctx, z, ctx.test.unit_pixels(0, z.fd_images), 0};
  judge.real_sharpness = measure::mean_laplacian_variance(judge.real.data(), z.fd_images, ctx.test.height, ctx.test.width);
  // The floor: other test images, which the classifier never saw either, against the same ones.
  const std::vector<float> other = ctx.data.test.unit_pixels(ctx.test.count, z.fd_images);
  const double floor = programs::feature_frechet(*ctx.classifier, other.data(), judge.real.data(), z.fd_images);

  std::vector<std::vector<Row>> rows(kModels.size());  // [model][seed]
  std::vector<bool> sharper, closer;
  for (const std::uint64_t seed : ctx.seed_list()) {
    for (std::size_t layers = 1; layers <= 3; ++layers)
      rows[layers - 1].push_back(measure_model(judge, latent_config(train, layers), train, {.seed = seed, .dequantize = true},
                                               z.latent_epochs, z.iw_samples,
                                               fmt::format("seed {} {}", seed, kModels[layers - 1])));
    rows[3].push_back(measure_model(judge, diffusion_config(train, z), diffusion_train,
                                    {.batch = 64, .lr = 5e-4, .seed = seed, .dequantize = true, .clip = 1},
                                    z.diffusion_epochs, 0, fmt::format("seed {} diffusion", seed)));
    const Row &vae = rows[0].back(), &diff = rows[3].back();
    sharper.push_back(std::abs(1 - diff.sharpness) < std::abs(1 - vae.sharpness));
    closer.push_back(diff.fd < vae.fd);
  }

  auto per_seed = [&](std::size_t m, double Row::*field) {
    std::vector<double> v;
    for (const Row& r : rows[m]) v.push_back(r.*field);
    return v;
  };
  std::vector<Spread> fd, sharp;
  for (std::size_t m = 0; m < kModels.size(); ++m) {
    c.add("bound (bits/dim, NELBO), " + kModels[m], per_seed(m, &Row::bound_bits));
    if (m < 3) c.add(fmt::format("IW NLL (bits/dim, K = {}), {}", z.iw_samples, kModels[m]), per_seed(m, &Row::iw_bits));
  }
  for (std::size_t m = 0; m < kModels.size(); ++m) {
    c.add("Fréchet distance, " + kModels[m], per_seed(m, &Row::fd));
    fd.push_back(c.figures.back().second);
  }
  c.add("Fréchet distance, held-out test images (floor)", std::vector<double>(s.seeds, floor));
  for (std::size_t m = 0; m < kModels.size(); ++m) {
    c.add("Laplacian-variance ratio, " + kModels[m], per_seed(m, &Row::sharpness));
    sharp.push_back(c.figures.back().second);
  }
  for (std::size_t m = 0; m < kModels.size(); ++m) c.add("training seconds, " + kModels[m], per_seed(m, &Row::seconds));
  c.verdict = both(by_seeds(sharper), by_seeds(closer));
  c.summary = fmt::format(
      "samples keep {:.0f}% / {:.0f}% / {:.0f}% of real images' Laplacian variance with 1 / 2 / 3 stochastic layers and "
      "{:.0f}% from the diffusion model; Fréchet distance {:.1f} / {:.1f} / {:.1f} against the diffusion model's {:.1f} "
      "(real images: {:.1f}); bounds {:.2f} / {:.2f} / {:.2f} against {:.2f} bits/dim",
      100 * sharp[0].mean, 100 * sharp[1].mean, 100 * sharp[2].mean, 100 * sharp[3].mean, fd[0].mean, fd[1].mean,
      fd[2].mean, fd[3].mean, floor, c.get("bound (bits/dim, NELBO), " + kModels[0]).mean,
      c.get("bound (bits/dim, NELBO), " + kModels[1]).mean, c.get("bound (bits/dim, NELBO), " + kModels[2]).mean,
      c.get("bound (bits/dim, NELBO), " + kModels[3]).mean);

  // Over depth: the three latent models as a line, the diffusion model (a chain of T) as a level beside it.
  const std::vector<double> layers = {1, 2, 3};
  auto level = [&](const std::string& name, double y) { return report::Series{name, {1, 3}, {y, y}}; };
  c.pictures.push_back({"claim12-fd", "Fréchet distance of the samples against test images over the stochastic layers "
                        "of the VAE / HVAEs, the diffusion model and held-out real images as levels (mean over seeds).",
                        report::line_chart({mean_series("VAE / HVAE", layers, {fd[0], fd[1], fd[2]}),
                                            level("diffusion", fd[3].mean), level("real images", floor)},
                                           {"stochastic layers", "Fréchet distance", false, true}), {}});
  c.pictures.push_back({"claim12-sharpness", "Laplacian variance of the samples / that of test images over the stochastic "
                        "layers, the diffusion model's as a level; 1 is as sharp as real images (mean over seeds).",
                        report::line_chart({mean_series("VAE / HVAE", layers, {sharp[0], sharp[1], sharp[2]}),
                                            level("diffusion", sharp[3].mean), level("real images", 1.0)},
                                           {"stochastic layers", "samples / real", false, true}), {}});
  const std::size_t columns = std::min(kPictureColumns, z.fd_images), d = ctx.test.dim();
  std::vector<float> grid;
  for (const auto& model_rows : rows)
    grid.insert(grid.end(), model_rows.front().samples.begin(), model_rows.front().samples.begin() + std::ptrdiff_t(columns * d));
  c.pictures.push_back({"claim12-samples", "Samples of seed 1, a row per model: VAE, HVAE of 2 and of 3 layers (decoder "
                        "means D(z)), diffusion model (x_0 of the respaced chain).", {},
                        support::encode_png(report::labelled_rows(grid, kModels.size(), columns, ctx.test.shape(), kModels))});
  return c;
}

}  // namespace vk::claims
