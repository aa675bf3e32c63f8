// Claims judged by what generated images look like to a classifier trained on real ones and by
// their distance to the training set: an AE decoding improper z (2), a VAE's prior samples (6).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/claims/models.hpp"
#include "experiments/draw/charts.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/draw/png.hpp"

namespace vk::claims {

namespace {

struct Judged {
  double confidence;             // mean over images of the classifier's top probability
  std::vector<double> label_share;  // share of images given each class
};

Judged judge(vae::Classifier& classifier, const std::vector<float>& images, std::size_t dim) {
  const std::size_t n = images.size() / dim, k = classifier.classes();
  const std::vector<float> p = classifier.probabilities(images.data(), n);
  Judged j{0, std::vector<double>(k, 0.0)};
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p.data() + i * k;
    const std::size_t top = std::size_t(std::max_element(row, row + k) - row);
    j.confidence += row[top] / double(n);
    j.label_share[top] += 1.0 / double(n);
  }
  return j;
}

double total_variation(const std::vector<double>& a, const std::vector<double>& b) {
  double tv = 0;
  for (std::size_t i = 0; i < a.size(); ++i) tv += 0.5 * std::abs(a[i] - b[i]);
  return tv;
}

// Mean over the images of the Euclidean distance to the nearest training image, by
// |a - b|^2 = |a|^2 + |b|^2 - 2 a.b with one GEMM per block of images.
double mean_nearest_distance(const std::vector<float>& images, const std::vector<float>& train, std::size_t dim) {
  const std::size_t n = images.size() / dim, m = train.size() / dim, block = 200;
  std::vector<float> train_sq(m, 0.f), dots(block * m);
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t e = 0; e < dim; ++e) train_sq[j] += train[j * dim + e] * train[j * dim + e];
  double total = 0;
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t b = std::min(block, n - start);
    blas::gemm<float>(false, true, b, m, dim, 1.f, images.data() + start * dim, dim, train.data(), dim, 0.f,
                      dots.data(), m);
    for (std::size_t i = 0; i < b; ++i) {
      double sq = 0;
      for (std::size_t e = 0; e < dim; ++e) sq += double(images[(start + i) * dim + e]) * images[(start + i) * dim + e];
      double best = INFINITY;
      for (std::size_t j = 0; j < m; ++j) best = std::min(best, sq + train_sq[j] - 2.0 * dots[i * m + j]);
      total += std::sqrt(std::max(best, 0.0));
    }
  }
  return total / double(n);
}

// Picture rows of 10 images each from several sets, one labelled row per set.
std::vector<std::uint8_t> rows_png(const std::vector<const std::vector<float>*>& sets,
                                   const std::vector<std::string>& labels, const data::ImageSet& like) {
  constexpr std::size_t kShown = 10;
  std::vector<float> shown;
  for (const auto* s : sets) shown.insert(shown.end(), s->begin(), s->begin() + kShown * like.dim());
  return support::encode_png(report::labelled_rows(shown, sets.size(), kShown, like.shape(), labels));
}

Claim improper_z(Context& ctx) {
  const std::size_t n = ctx.test.count, dim = ctx.test.dim();
  Claim c{2, "improper-z",
          "An improper z gives improper data: a plain AE's decoder at z ~ N(0, I) gives images a classifier is less "
          "sure of and that lie farther from the training images than its decodings of encoded data."};
  c.rule = fmt::format("{} draws z ~ N(0, I) against z = μ(x) of {} test images (held out, so the nearest training "
                       "image is not the image itself), through the AE's decoder. Confidence: the mean top softmax "
                       "probability of a classifier trained on the {} training images; distance: Euclidean to the "
                       "nearest of them. Per seed a part holds if N(0, I) is worse (lower confidence, larger distance); "
                       "both parts in every seed: supported, in none: not supported, else mixed.",
                       n, n, ctx.data.train.count);
  c.settings = {{"samples", n}, {"train_images", ctx.data.train.count}};
  const std::vector<float> train = report::pixels_of(ctx.data.train, ctx.data.train.count);
  const std::vector<float> real = report::pixels_of(ctx.test, n);
  std::vector<double> conf_prior, conf_enc, dist_prior, dist_enc, dist_real;
  std::vector<bool> conf_ok, dist_ok;
  for (SeedModels& m : ctx.seeds) {
    const std::vector<float> prior = decode_standard_normal(*m.ae, n, m.seed + 200);
    const std::vector<float> mu = report::encode_means(*m.ae, ctx.test, n);
    const std::vector<float> encoded = report::decode_means(*m.ae, mu.data(), n);
    conf_prior.push_back(judge(*ctx.classifier, prior, dim).confidence);
    conf_enc.push_back(judge(*ctx.classifier, encoded, dim).confidence);
    dist_prior.push_back(mean_nearest_distance(prior, train, dim));
    dist_enc.push_back(mean_nearest_distance(encoded, train, dim));
    dist_real.push_back(mean_nearest_distance(real, train, dim));
    conf_ok.push_back(conf_prior.back() < conf_enc.back());
    dist_ok.push_back(dist_prior.back() > dist_enc.back());
    if (m.seed == 1)
      c.pictures.push_back({"claim2-images", "The AE's decoder at z ~ N(0, I) (top) and at μ(x) of test images (bottom), seed 1.",
                            {}, rows_png({&prior, &encoded}, {"z ~ N(0, I)", "z = mu(x)"}, ctx.test)});
  }
  c.add("classifier confidence, z ~ N(0, I)", conf_prior);
  c.add("classifier confidence, z = μ(x)", conf_enc);
  c.add("nearest training image distance, z ~ N(0, I)", dist_prior);
  c.add("nearest training image distance, z = μ(x)", dist_enc);
  c.add("nearest training image distance, real test images", dist_real);
  c.verdict = both(by_seeds(conf_ok), by_seeds(dist_ok));
  c.summary = fmt::format("the AE decoded z ~ N(0, I) into images with classifier confidence {:.3f} against {:.3f} "
                          "for encoded z, at distance {:.2f} from the nearest training image against {:.2f}",
                          mean_of(conf_prior), mean_of(conf_enc), mean_of(dist_prior), mean_of(dist_enc));
  return c;
}

Claim prior_samples(Context& ctx) {
  const std::size_t n = ctx.test.count, dim = ctx.test.dim();
  Claim c{6, "vae-prior-samples",
          "The VAE decoder generates data like the training data from z ~ N(0, I): its samples' label distribution "
          "and classifier confidence are closer to the data's than the plain AE's samples from z ~ N(0, I)."};
  c.rule = fmt::format("{} decoder means of z ~ N(0, I) from the VAE and from the AE against {} test images, judged "
                       "by the classifier: total-variation distance between label distributions and the gap in mean "
                       "confidence. Per seed a part holds if the VAE is closer to the data than the AE; both parts "
                       "in every seed: supported, in none: not supported, else mixed.", n, n);
  c.settings = {{"samples", n}};
  const Judged data = judge(*ctx.classifier, report::pixels_of(ctx.test, n), dim);
  std::vector<double> tv_vae, tv_ae, conf_vae, conf_ae, conf_data;
  std::vector<bool> tv_ok, conf_ok;
  for (SeedModels& m : ctx.seeds) {
    const std::vector<float> vae_x = decode_standard_normal(*m.vae, n, m.seed + 300);
    const std::vector<float> ae_x = decode_standard_normal(*m.ae, n, m.seed + 300);
    const Judged v = judge(*ctx.classifier, vae_x, dim), a = judge(*ctx.classifier, ae_x, dim);
    tv_vae.push_back(total_variation(v.label_share, data.label_share));
    tv_ae.push_back(total_variation(a.label_share, data.label_share));
    conf_vae.push_back(v.confidence);
    conf_ae.push_back(a.confidence);
    conf_data.push_back(data.confidence);
    tv_ok.push_back(tv_vae.back() < tv_ae.back());
    conf_ok.push_back(std::abs(v.confidence - data.confidence) < std::abs(a.confidence - data.confidence));
    if (m.seed != 1) continue;
    std::vector<report::Series> shares;
    const std::pair<const char*, const Judged*> sets[] = {{"test images", &data}, {"VAE, z ~ N(0, I)", &v},
                                                          {"AE, z ~ N(0, I)", &a}};
    for (auto [name, j] : sets) {
      report::Series s{name, {}, j->label_share};
      for (std::size_t k = 0; k < s.y.size(); ++k) s.x.push_back(double(k));
      shares.push_back(s);
    }
    c.pictures.push_back({"claim6-labels", "Share of images the classifier gives each class (0 = T-shirt/top ... "
                          "9 = ankle boot), seed 1.", report::line_chart(shares, {"class", "share", false, true}), {}});
    const std::vector<float> real = report::pixels_of(ctx.test, 10);
    c.pictures.push_back({"claim6-images", "Test images, VAE samples and AE samples from z ~ N(0, I), seed 1.", {},
                          rows_png({&real, &vae_x, &ae_x}, {"test images", "VAE samples", "AE samples"}, ctx.test)});
  }
  c.add("label distribution TV distance to data, VAE", tv_vae);
  c.add("label distribution TV distance to data, AE", tv_ae);
  c.add("classifier confidence, VAE samples", conf_vae);
  c.add("classifier confidence, AE samples", conf_ae);
  c.add("classifier confidence, test images", conf_data);
  c.verdict = both(by_seeds(tv_ok), by_seeds(conf_ok));
  c.summary = fmt::format("VAE samples' labels are {:.3f} (total variation) from the data's against the AE's {:.3f}; "
                          "confidence {:.3f} (VAE), {:.3f} (AE), {:.3f} (test images)",
                          mean_of(tv_vae), mean_of(tv_ae), mean_of(conf_vae), mean_of(conf_ae), data.confidence);
  return c;
}

}  // namespace

std::vector<Claim> sample_claims(Context& ctx) {
  fmt::print(stderr, "claim 2: an AE's decoder at improper z\n");
  std::vector<Claim> out{improper_z(ctx)};
  fmt::print(stderr, "claim 6: VAE prior samples\n");
  out.push_back(prior_samples(ctx));
  return out;
}

}  // namespace vk::claims
