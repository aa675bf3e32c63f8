// Claims about what a decoder's image and an encoder's codes look like: the rank of dD/dz (1),
// the regularized AE's aggregate code against an isotropic Gaussian (3), and a known manifold
// recovered with its noise (4).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "datasets/synthetic.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"
#include "experiments/report/figures.hpp"
#include "vae/distributions.hpp"

namespace vk::claims {

namespace {

// Singular values above this share of the largest count towards the numerical rank.
constexpr double kRankTolerance = 1e-2;
// The tape's Jacobian must match central differences in double to this relative error.
constexpr double kFdTolerance = 1e-6;

struct Spectra {
  std::vector<double> ranks;       // per code
  std::vector<double> mean_scaled; // mean over codes of s_i / s_1
};

Spectra spectra(const std::vector<std::vector<double>>& jacobians, std::size_t d, std::size_t k) {
  Spectra out{{}, std::vector<double>(k, 0.0)};
  for (const auto& j : jacobians) {
    const std::vector<double> s = measure::singular_values(j, d, k);
    out.ranks.push_back(double(numerical_rank(s, kRankTolerance)));
    for (std::size_t i = 0; i < k; ++i) out.mean_scaled[i] += s[i] / s[0] / double(jacobians.size());
  }
  return out;
}

report::Series spectrum_series(const std::string& name, const std::vector<double>& scaled) {
  report::Series s{name, {}, scaled};
  for (std::size_t i = 0; i < scaled.size(); ++i) s.x.push_back(double(i + 1));
  return s;
}

report::Series flat(const std::string& name, double value, std::size_t n) {
  return spectrum_series(name, std::vector<double>(n, value));
}

Claim decoder_rank(Context& ctx) {
  const Settings& s = ctx.settings;
  Claim c{1, "decoder-rank",
          "An autoencoder's decoder produces points on a manifold of dimension at most dim(z): the decoder "
          "Jacobian dD/dz has numerical rank at most dim(z), for the AE, the regularized AE and the VAE."};
  c.rule = fmt::format("Numerical rank = singular values of dD/dz above {} x the largest, at μ(x) of {} test images. "
                       "Per seed the claim holds if every model's largest rank is at most dim(z) = {} (of {} pixels) "
                       "and the tape's Jacobian matches central differences (double, step 1e-5) within {} relative; "
                       "supported if it holds in every seed, not supported in none, mixed otherwise.",
                       kRankTolerance, s.jacobian_points, s.latent, ctx.test.dim(), kFdTolerance);
  c.settings = {{"points", s.jacobian_points}, {"rank_tolerance", kRankTolerance}, {"latent", s.latent}};
  std::vector<double> rank[3], max_rank, fd;
  std::vector<bool> pass;
  std::vector<report::Series> chart;
  const char* names[3] = {"AE", "RAE", "VAE"};
  for (SeedModels& m : ctx.seeds) {
    vae::Model<float>* models[3] = {m.ae.get(), m.rae.get(), m.vae.get()};
    double worst_rank = 0, worst_fd = 0;
    for (int i = 0; i < 3; ++i) {
      const std::vector<float> z = report::encode_means(*models[i], ctx.test, s.jacobian_points);
      const auto jac = decoder_jacobians(*models[i], z, s.jacobian_points);
      const Spectra sp = spectra(jac, ctx.test.dim(), s.latent);
      rank[i].push_back(mean_of(sp.ranks));
      worst_rank = std::max(worst_rank, *std::max_element(sp.ranks.begin(), sp.ranks.end()));
      worst_fd = std::max(worst_fd, jacobian_fd_error(*models[i], z, 2, jac));
      if (m.seed == 1) chart.push_back(spectrum_series(names[i], sp.mean_scaled));
    }
    max_rank.push_back(worst_rank);
    fd.push_back(worst_fd);
    pass.push_back(worst_rank <= double(s.latent) && worst_fd <= kFdTolerance);
  }
  for (int i = 0; i < 3; ++i) c.add(fmt::format("mean numerical rank, {}", names[i]), rank[i]);
  c.add("largest rank over models and codes", max_rank);
  c.add("dim(z)", std::vector<double>(max_rank.size(), double(s.latent)));
  c.add("tape vs finite-difference Jacobian, max relative error", fd);
  c.verdict = by_seeds(pass);
  c.summary = fmt::format("the decoders' Jacobians have numerical rank {:.1f} (AE), {:.1f} (RAE) and {:.1f} (VAE) "
                          "of dim(z) = {} in {} pixels; tape and finite differences agree to {:.1g}",
                          c.get("mean numerical rank, AE").mean, c.get("mean numerical rank, RAE").mean,
                          c.get("mean numerical rank, VAE").mean, s.latent, ctx.test.dim(), mean_of(fd));
  chart.push_back(flat("tolerance", kRankTolerance, s.latent));
  c.pictures.push_back({"claim1-spectrum", "Singular values of dD/dz over the largest, mean over codes (seed 1); "
                        "those above the tolerance count towards the rank.",
                        report::line_chart(chart, {"index i", "s_i / s_1", true, true}), {}});
  return c;
}

// One draw z ~ q(z|x) per image of a VAE (its aggregate posterior), or mu(x) of an AE.
std::vector<double> aggregate_codes(vae::Model<float>& model, const data::ImageSet& set, std::uint64_t seed) {
  const std::vector<float> mu = report::encode_means(model, set, set.count);
  if (!model.config().variational()) return {mu.begin(), mu.end()};
  data::Batcher<float> b(set, {.batch = set.count, .shuffle = false});
  b.next();
  Tape<float> tape;
  NoGradGuard guard(tape);
  Rng rng(seed);
  Var<float> z = model.encode(tape.constant(b.x())).sample(tape, set.count, rng);
  return {z.node().value, z.node().value + set.count * model.config().latent};
}

struct LatentShape {
  double mean_norm, eig_ratio, median_ks, share_rejected;
  std::vector<double> ks;
};

LatentShape latent_shape(const std::vector<double>& z, std::size_t n, std::size_t k) {
  LatentShape out{0, 0, 0, 0, {}};
  std::vector<double> column(n);
  for (std::size_t j = 0; j < k; ++j) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m += (column[i] = z[i * k + j]) / double(n);
    out.mean_norm += m * m;
    out.ks.push_back(ks_normal(column));
  }
  out.mean_norm = std::sqrt(out.mean_norm);
  const std::vector<double> eig = measure::symmetric_eigenvalues(covariance(z, n, k), k);
  out.eig_ratio = eig.front() / std::max(eig.back(), 1e-300);
  out.median_ks = median_of(out.ks);
  out.share_rejected = double(std::count_if(out.ks.begin(), out.ks.end(), [&](double v) { return v > ks_critical(n); })) /
                       double(k);
  return out;
}

Claim rae_latent(Context& ctx) {
  const std::size_t n = ctx.test.count, k = ctx.settings.latent;
  Claim c{3, "rae-latent-not-gaussian",
          "Penalizing |E(X)|² does not make z an isotropic Gaussian: the regularized AE's aggregate code "
          "is not N(0, I), unlike the VAE's aggregate posterior."};
  c.rule = fmt::format("Codes of {} test images: μ(x) for the RAE, one z ~ q(z|x) each for the VAE. Per seed the claim "
                       "holds if the RAE's median per-dimension KS distance to N(0, 1) exceeds the 5% critical value "
                       "1.36/√n = {:.3f} and the VAE's median; supported if it holds in every seed, not supported "
                       "in none, mixed otherwise.", n, ks_critical(n));
  c.settings = {{"images", n}, {"latent", k}, {"rae_lambda", vae::ModelConfig{}.lambda}};
  std::vector<double> f[2][4];
  std::vector<bool> pass;
  std::vector<report::Series> chart;
  for (SeedModels& m : ctx.seeds) {
    LatentShape shape[2];
    vae::Model<float>* models[2] = {m.rae.get(), m.vae.get()};
    for (int i = 0; i < 2; ++i) {
      shape[i] = latent_shape(aggregate_codes(*models[i], ctx.test, m.seed + 500), n, k);
      const double v[4] = {shape[i].mean_norm, shape[i].eig_ratio, shape[i].median_ks, shape[i].share_rejected};
      for (int j = 0; j < 4; ++j) f[i][j].push_back(v[j]);
      if (m.seed == 1) chart.push_back(spectrum_series(i ? "VAE" : "RAE", shape[i].ks));
    }
    pass.push_back(shape[0].median_ks > ks_critical(n) && shape[0].median_ks > shape[1].median_ks);
  }
  const char* what[4] = {"|mean of z|", "largest / smallest covariance eigenvalue", "median KS distance to N(0,1)",
                         "share of dimensions rejected by KS at 5%"};
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 2; ++i) c.add(fmt::format("{}, {}", what[j], i ? "VAE" : "RAE"), f[i][j]);
  c.verdict = by_seeds(pass);
  c.summary = fmt::format("the RAE's codes sit at median KS distance {:.2f} from N(0, 1) per dimension "
                          "(critical {:.3f}; VAE {:.2f}), covariance eigenvalue ratio {:.3g} (VAE {:.3g})",
                          c.get("median KS distance to N(0,1), RAE").mean, ks_critical(n),
                          c.get("median KS distance to N(0,1), VAE").mean,
                          c.get("largest / smallest covariance eigenvalue, RAE").mean,
                          c.get("largest / smallest covariance eigenvalue, VAE").mean);
  chart.push_back(flat("5% critical value", ks_critical(n), k));
  c.pictures.push_back({"claim3-ks", "KS distance of each latent dimension's codes to N(0, 1) (seed 1).",
                        report::line_chart(chart, {"latent dimension", "KS distance", false, true}), {}});
  return c;
}

// Synthetic points as an ImageSet (1 x d "images" of bytes), so that the framework's Trainer and
// Batcher take them as they take Fashion-MNIST; 8-bit rounding adds a variance of 1.3e-6.
data::ImageSet as_image_set(const Matrix<double>& x) {
  data::ImageSet set;
  set.count = x.shape(0);
  set.height = 1;
  set.width = x.shape(1);
  set.classes = 1;
  set.labels.assign(set.count, 0);
  for (double v : x) set.pixels.push_back(std::uint8_t(std::lround(std::clamp(v, 0.0, 1.0) * 255)));
  return set;
}

Claim manifold_claim(Context& ctx) {
  const Settings& s = ctx.settings;
  data::ManifoldSpec spec;
  spec.count = s.quick ? 2000 : 5000;
  spec.intrinsic_dim = 2;
  spec.ambient_dim = 100;
  spec.noise_sigma = 0.05;
  const double truth = spec.noise_sigma * spec.noise_sigma;
  // The noise model's sigma^2 settles only once the decoder fits the manifold: many short epochs.
  const std::size_t latent = 6, epochs = s.quick ? 300 : 400;
  Claim c{4, "manifold-noise",
          "Data off the decoder's manifold need the noise model: on data on a known m-dimensional manifold with "
          "noise of known σ, the VAE's learned σ² recovers σ² and its decoder Jacobian's numerical rank matches m."};
  c.rule = fmt::format("m = {} manifold in R^{} (a fixed random tanh-sigmoid map), σ = {}, {} points; a VAE with "
                       "dim(z) = {} and learned σ² trained {} epochs. Per seed: σ² holds if learned/true is within "
                       "[0.75, 1.33]; rank holds if the median numerical rank (tolerance {}) at μ(x) of {} points is m. "
                       "Each part supported if it holds in every seed; both supported: supported, both not: not "
                       "supported, else mixed.", spec.intrinsic_dim, spec.ambient_dim, spec.noise_sigma, spec.count,
                       latent, epochs, kRankTolerance, s.jacobian_points);
  c.settings = {{"m", spec.intrinsic_dim}, {"d", spec.ambient_dim}, {"sigma", spec.noise_sigma},
                {"points", spec.count}, {"latent", latent}, {"epochs", epochs}, {"hidden", {128}}};
  std::vector<double> ratio, learned, rank;
  std::vector<bool> sigma_ok, rank_ok;
  std::vector<report::Series> chart;
  for (std::uint64_t seed : ctx.seed_list()) {
    spec.sample_seed = seed + 1000;
    const data::ImageSet set = as_image_set(data::make_manifold(spec).x);
    vae::ModelConfig mc;
    mc.input_dim = spec.ambient_dim;
    mc.hidden = {128};
    mc.latent = latent;
    auto model = train_model(mc, set, {.batch = 64, .seed = seed}, epochs, fmt::format("seed {} manifold vae", seed));
    learned.push_back(model->sigma2());
    ratio.push_back(learned.back() / truth);
    const std::vector<float> z = report::encode_means(*model, set, s.jacobian_points);
    const Spectra sp = spectra(decoder_jacobians(*model, z, s.jacobian_points), spec.ambient_dim, latent);
    rank.push_back(median_of(sp.ranks));
    sigma_ok.push_back(ratio.back() >= 0.75 && ratio.back() <= 1.0 / 0.75);
    rank_ok.push_back(rank.back() == double(spec.intrinsic_dim));
    if (seed == 1) chart.push_back(spectrum_series("VAE decoder", sp.mean_scaled));
  }
  c.add("learned σ²", learned);
  c.add("true σ²", std::vector<double>(learned.size(), truth));
  c.add("learned σ² / true σ²", ratio);
  c.add("median numerical rank of dD/dz", rank);
  c.add("m", std::vector<double>(rank.size(), double(spec.intrinsic_dim)));
  c.verdict = both(by_seeds(sigma_ok), by_seeds(rank_ok));
  c.summary = fmt::format("on a {}-dimensional manifold with σ² = {:.4g}, the VAE learned σ² = {:.4g} (ratio {:.2f} ± {:.2f}) "
                          "and its decoder's numerical rank was {:.1f}",
                          spec.intrinsic_dim, truth, c.get("learned σ²").mean, c.get("learned σ² / true σ²").mean,
                          c.get("learned σ² / true σ²").sd, c.get("median numerical rank of dD/dz").mean);
  chart.push_back(flat("tolerance", kRankTolerance, latent));
  c.pictures.push_back({"claim4-spectrum", "Singular values of the synthetic VAE's dD/dz over the largest (seed 1): "
                        "m of them should stand above the tolerance.",
                        report::line_chart(chart, {"index i", "s_i / s_1", true, true}), {}});
  c.pictures.push_back({"claim4-sigma", "Learned σ² per seed against the true noise variance.",
                        report::bar_chart(learned, {"seed", "σ²", false, true}, truth, "true σ²"), {}});
  return c;
}

}  // namespace

std::vector<Claim> geometry_claims(Context& ctx) {
  fmt::print(stderr, "claim 1: decoder Jacobian rank\n");
  std::vector<Claim> out{decoder_rank(ctx)};
  fmt::print(stderr, "claim 3: the regularized AE's aggregate code\n");
  out.push_back(rae_latent(ctx));
  fmt::print(stderr, "claim 4: a known manifold with known noise\n");
  out.push_back(manifold_claim(ctx));
  return out;
}

}  // namespace vk::claims
