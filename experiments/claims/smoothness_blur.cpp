// Claims about the VAE's images themselves: moving z changes them smoothly (7), and they are
// blurrier than the data (8).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "autodiff/random.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/draw/png.hpp"

namespace vk::claims {

namespace {

// A path is smooth when no step between neighbouring frames is more than this times the mean step.
constexpr double kSmoothRatio = 2.0;
constexpr std::size_t kFrames = 11;

// Distances between neighbouring frames of a path of `frames` images.
std::vector<double> steps_of(const float* path, std::size_t frames, std::size_t dim) {
  std::vector<double> out;
  for (std::size_t s = 0; s + 1 < frames; ++s) {
    double sq = 0;
    for (std::size_t e = 0; e < dim; ++e) {
      const double d = double(path[(s + 1) * dim + e]) - path[s * dim + e];
      sq += d * d;
    }
    out.push_back(std::sqrt(sq));
  }
  return out;
}

double step_ratio(const std::vector<double>& steps) {
  const double mean = mean_of(steps);
  return mean > 0 ? *std::max_element(steps.begin(), steps.end()) / mean : 1.0;
}

// The `count` dimensions of the codes [n, k] with the largest variance: the ones a model uses.
std::vector<std::size_t> busiest_dims(const std::vector<float>& mu, std::size_t n, std::size_t k, std::size_t count) {
  std::vector<double> var(k, 0.0), mean(k, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) mean[j] += mu[i * k + j] / double(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) var[j] += (mu[i * k + j] - mean[j]) * (mu[i * k + j] - mean[j]);
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return var[a] > var[b]; });
  order.resize(std::min(count, k));
  return order;
}

struct Paths {
  std::vector<float> frames;          // [paths * kFrames, dim]
  std::vector<double> ratios;         // per path
  std::vector<std::string> names;
};

// Traversals z = μ(x) + t e_j, t from -3 to 3, for `images` test images and the busiest dims;
// interpolations from μ(x_2r) to μ(x_2r+1).
Paths paths(vae::Model<float>& model, const data::ImageSet& test, std::size_t images, bool traverse) {
  const std::size_t k = model.config().latent, dim = test.dim();
  const std::vector<float> mu = report::encode_means(model, test, test.count);
  std::vector<float> z;
  Paths out;
  if (traverse) {
    for (std::size_t i = 0; i < images; ++i)
      for (std::size_t j : busiest_dims(mu, test.count, k, 3)) {
        for (std::size_t s = 0; s < kFrames; ++s) {
          z.insert(z.end(), mu.begin() + i * k, mu.begin() + (i + 1) * k);
          z[z.size() - k + j] += float(-3.0 + 6.0 * double(s) / double(kFrames - 1));
        }
        out.names.push_back(fmt::format("image {}, z{}", i, j));
      }
  } else {
    for (std::size_t r = 0; r < images; ++r) {
      for (std::size_t s = 0; s < kFrames; ++s) {
        const float t = float(s) / float(kFrames - 1);
        for (std::size_t j = 0; j < k; ++j) z.push_back((1 - t) * mu[2 * r * k + j] + t * mu[(2 * r + 1) * k + j]);
      }
      out.names.push_back(fmt::format("images {} to {}", 2 * r, 2 * r + 1));
    }
  }
  const std::size_t count = z.size() / k / kFrames;
  out.frames = report::decode_means(model, z.data(), count * kFrames);
  for (std::size_t p = 0; p < count; ++p) out.ratios.push_back(step_ratio(steps_of(out.frames.data() + p * kFrames * dim, kFrames, dim)));
  return out;
}

double share_smooth(const std::vector<double>& ratios) {
  return double(std::count_if(ratios.begin(), ratios.end(), [](double r) { return r <= kSmoothRatio; })) /
         double(ratios.size());
}

Claim smoothness(Context& ctx) {
  const std::size_t images = ctx.settings.quick ? 4 : 8;
  Claim c{7, "latent-smoothness",
          "Moving z around μ(x) changes x smoothly: along latent traversals and interpolations of the VAE no step "
          "between neighbouring frames is a jump."};
  c.rule = fmt::format("{} frames per path: traversals z = μ(x) + t·e_j, t in [-3, 3], for {} test images and the 3 "
                       "dimensions of largest Var(μ), and interpolations between {} pairs of test images. A path is "
                       "smooth if its largest step (Euclidean, between neighbouring frames) is at most {} x its mean "
                       "step. Per seed the claim holds if at least 90% of the VAE's paths are smooth; supported if it "
                       "holds in every seed, not supported in none, mixed otherwise.",
                       kFrames, images, images, kSmoothRatio);
  c.settings = {{"frames", kFrames}, {"images", images}, {"smooth_ratio", kSmoothRatio}};
  std::vector<double> trav_ratio, interp_ratio, share, ae_share;
  std::vector<bool> pass;
  for (SeedModels& m : ctx.seeds) {
    const Paths t = paths(*m.vae, ctx.test, images, true), i = paths(*m.vae, ctx.test, images, false);
    const Paths ae = paths(*m.ae, ctx.test, images, false);
    std::vector<double> all = t.ratios;
    all.insert(all.end(), i.ratios.begin(), i.ratios.end());
    trav_ratio.push_back(mean_of(t.ratios));
    interp_ratio.push_back(mean_of(i.ratios));
    share.push_back(share_smooth(all));
    ae_share.push_back(share_smooth(ae.ratios));
    pass.push_back(share.back() >= 0.9);
    if (m.seed != 1) continue;
    const std::size_t rows = std::min<std::size_t>(6, t.names.size());
    const std::vector<std::string> labels(t.names.begin(), t.names.begin() + rows);
    c.pictures.push_back({"claim7-traversals", "VAE latent traversals, seed 1: each row moves one dimension of μ(x) "
                          "from -3 to +3.", {}, support::encode_png(report::labelled_rows(
                              t.frames, rows, kFrames, ctx.test.shape(), labels))});
    std::vector<report::Series> curves;
    for (std::size_t p = 0; p < rows; ++p) {
      report::Series s{t.names[p], {}, steps_of(t.frames.data() + p * kFrames * ctx.test.dim(), kFrames, ctx.test.dim())};
      for (std::size_t q = 0; q < s.y.size(); ++q) s.x.push_back(double(q + 1));
      curves.push_back(s);
    }
    c.pictures.push_back({"claim7-steps", "Distance between neighbouring frames along the traversals above.",
                          report::line_chart(curves, {"step", "|x_{s+1} - x_s|", false, true}), {}});
  }
  c.add("mean largest/mean step, VAE traversals", trav_ratio);
  c.add("mean largest/mean step, VAE interpolations", interp_ratio);
  c.add("share of smooth paths, VAE", share);
  c.add("share of smooth interpolations, AE (for comparison)", ae_share);
  c.verdict = by_seeds(pass);
  c.summary = fmt::format("{:.0f}% of the VAE's traversals and interpolations were smooth (largest step / mean step "
                          "{:.2f} and {:.2f}); the AE's interpolations {:.0f}%",
                          100 * mean_of(share), mean_of(trav_ratio), mean_of(interp_ratio), 100 * mean_of(ae_share));
  return c;
}

double mean_laplacian_variance(const std::vector<float>& images, const data::ImageSet& like) {
  return measure::mean_laplacian_variance(images.data(), images.size() / like.dim(), like.height, like.width);
}

Claim blur(Context& ctx) {
  const std::size_t n = ctx.test.count;
  Claim c{8, "vae-blur",
          "VAE samples are blurry: their sharpness (variance of the image Laplacian) is below that of real images, "
          "and so is that of the VAE's reconstructions."};
  c.rule = fmt::format("Mean over images of the variance of the 4-neighbour Laplacian: {} test images, the VAE's "
                       "reconstructions D(μ(x)) of them and {} decoder means of z ~ N(0, I). Per seed the claim "
                       "holds if samples and reconstructions are both below the real images; supported if it holds "
                       "in every seed, not supported in none, mixed otherwise.", n, n);
  c.settings = {{"images", n}};
  const std::vector<float> real = report::pixels_of(ctx.test, n);
  const double sharp_real = mean_laplacian_variance(real, ctx.test);
  std::vector<double> s_real, s_rec, s_samp, s_ae, ratio;
  std::vector<bool> pass;
  for (SeedModels& m : ctx.seeds) {
    const std::vector<float> mu = report::encode_means(*m.vae, ctx.test, n);
    const std::vector<float> rec = report::decode_means(*m.vae, mu.data(), n);
    const std::vector<float> samples = decode_standard_normal(*m.vae, n, m.seed + 400);
    const std::vector<float> ae_mu = report::encode_means(*m.ae, ctx.test, n);
    s_real.push_back(sharp_real);
    s_rec.push_back(mean_laplacian_variance(rec, ctx.test));
    s_samp.push_back(mean_laplacian_variance(samples, ctx.test));
    s_ae.push_back(mean_laplacian_variance(report::decode_means(*m.ae, ae_mu.data(), n), ctx.test));
    ratio.push_back(s_samp.back() / sharp_real);
    pass.push_back(s_samp.back() < sharp_real && s_rec.back() < sharp_real);
  }
  c.add("Laplacian variance, real test images", s_real);
  c.add("Laplacian variance, VAE reconstructions", s_rec);
  c.add("Laplacian variance, VAE samples", s_samp);
  c.add("Laplacian variance, AE reconstructions (for comparison)", s_ae);
  c.add("VAE samples / real", ratio);
  c.verdict = by_seeds(pass);
  c.summary = fmt::format("the VAE's samples have {:.0f}% of the real images' Laplacian variance, its reconstructions "
                          "{:.0f}% (AE reconstructions {:.0f}%)", 100 * mean_of(ratio),
                          100 * mean_of(s_rec) / sharp_real, 100 * mean_of(s_ae) / sharp_real);
  c.pictures.push_back({"claim8-sharpness", "Mean Laplacian variance: 1 real images, 2 VAE reconstructions, 3 VAE "
                        "samples, 4 AE reconstructions (mean over seeds).",
                        report::bar_chart({sharp_real, mean_of(s_rec), mean_of(s_samp), mean_of(s_ae)},
                                          {"image set", "variance of the Laplacian", false, true}, sharp_real, "real images"), {}});
  return c;
}

}  // namespace

std::vector<Claim> image_claims(Context& ctx) {
  fmt::print(stderr, "claim 7: latent traversals and interpolations\n");
  std::vector<Claim> out{smoothness(ctx)};
  fmt::print(stderr, "claim 8: blur\n");
  out.push_back(blur(ctx));
  return out;
}

}  // namespace vk::claims
