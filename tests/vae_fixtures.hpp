// Shared fixtures of the VAE suites: small image sets, configs and checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>
#include <nlohmann/json.hpp>
#include "tests/gradcheck.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"
#include "datasets/mnist.hpp"
#include "vae/config.hpp"
#include "vae/evaluate.hpp"
#include "vae/model.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

namespace vk::test_vae {
using namespace vk;
using namespace vk::vae;

constexpr std::size_t kSide = 8, kDim = kSide * kSide, kClasses = 3;

// count images of a blob of width 1.3 centred uniformly in [2, 6]^2, pixel noise sd 8/255, the
// first row forced to 0. The label is the third of the horizontal position the centre falls in.
inline data::ImageSet blobs(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::uniform_real_distribution<double> centre(2.0, 6.0);
  std::normal_distribution<double> noise(0.0, 8.0);
  data::ImageSet set;
  set.count = count;
  set.height = set.width = kSide;
  set.classes = kClasses;
  set.pixels.resize(count * kDim);
  set.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double cy = centre(rng), cx = centre(rng);
    set.labels[i] = std::uint8_t(std::min<std::size_t>(kClasses - 1, std::size_t((cx - 2.0) / 4.0 * kClasses)));
    for (std::size_t r = 0; r < kSide; ++r)
      for (std::size_t c = 0; c < kSide; ++c) {
        const double d2 = (double(r) - cy) * (double(r) - cy) + (double(c) - cx) * (double(c) - cx);
        double v = 230.0 * std::exp(-d2 / (2 * 1.3 * 1.3)) + 10.0 + noise(rng);
        if (r == 0) v = 0;
        set.pixels[i * kDim + r * kSide + c] = std::uint8_t(std::clamp(std::lround(v), 0L, 255L));
      }
  }
  return set;
}

inline ModelConfig small_config(const std::string& kind, LikelihoodKind l = LikelihoodKind::gaussian,
                                Sigma s = Sigma::learned) {
  ModelConfig c;
  c.kind = kind;
  c.likelihood = l;
  c.sigma = s;
  c.input_dim = kDim;
  c.hidden = {16};
  c.latent = kind_info(kind).family == Family::exact ? kDim : 2;  // an exact density's z is x's width
  c.classes = kind_info(kind).conditional ? kClasses : 0;
  c.hidden2 = {6};
  if (kind_info(kind).stacked) c.latents_above = {2};
  return c;
}

// The bounds of vae/bounds.hpp through the model interface, as the trainer reaches them.
template <class T>
Terms<T> elbo_terms(Model<T>& model, Var<T> x, std::type_identity_t<std::optional<Var<T>>> y, Var<T> eps,
                    std::type_identity_t<T> kl_weight, bool training) {
  return terms(model, x, y, eps, Objective{Bound::elbo, 1, double(kl_weight)}, training);
}
template <class T>
Terms<T> iwae_terms(Model<T>& model, Var<T> x, std::type_identity_t<std::optional<Var<T>>> y, Var<T> eps, std::size_t k,
                    std::type_identity_t<T> kl_weight, bool training) {
  return terms(model, x, y, eps, Objective{Bound::iwae, k, double(kl_weight)}, training);
}

// The Gaussian prior of a model read from its parameters: the learned class prior's rows
// y prior.mu and y prior.logvar, or N(0, I) as one row where the model has no prior.* parameter;
// none for any other prior (a stack of layers, a mixture).
template <class T>
std::optional<DiagGaussian<T>> prior_of(Model<T>& model, Tape<T>& tape, std::optional<Var<T>> y) {
  ParameterStore<T>& ps = model.params();
  std::vector<std::string> names;
  for (const auto& e : ps.entries())
    if (e.name.rfind("prior.", 0) == 0) names.push_back(e.name);
  if (names.empty()) return standard_normal_density(tape, model.config().latent);
  if (y && names == std::vector<std::string>{"prior.mu", "prior.logvar"})
    return DiagGaussian<T>{matmul(*y, tape.param(ps, *ps.find("prior.mu"))), matmul(*y, tape.param(ps, *ps.find("prior.logvar")))};
  return std::nullopt;
}

// Random pixels in [0, 1] as a model's likelihood reads them: binary for a Bernoulli VAE, 8-bit
// values v / 255 for the discretized logistic, any value otherwise.
template <class T>
void fill_pixels(Rng& rng, const ModelConfig& c, Matrix<T>& x) {
  fill_uniform<T>(rng, std::span<T>(x.data(), x.size()), T(0), T(1));
  if (c.likelihood == LikelihoodKind::bernoulli && c.variational())
    for (T& e : x) e = e < T(0.5) ? T(0) : T(1);
  if (c.discrete_pixels())
    for (T& e : x) e = T(std::round(double(e) * 255) / 255);
}

// Image i of a set as doubles in [0, 1].
inline std::vector<double> image_values(const data::ImageSet& set, std::size_t i) {
  std::vector<double> v(set.dim());
  for (std::size_t j = 0; j < set.dim(); ++j) v[j] = set.pixels[i * set.dim() + j] / 255.0;
  return v;
}

struct MeanSe {
  double mean = 0, se = 0;
};
inline MeanSe mean_se(const std::vector<double>& v) {
  const double n = double(v.size());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (n - 1) / n)};
}

// Every objective the model offers, with a readable name.
struct Variant {
  const char* name;
  ModelConfig config;
};
inline std::vector<Variant> all_variants() {
  ModelConfig rae = small_config("rae");
  rae.lambda = 0.3;  // large enough that a wrong regulariser gradient shows
  ModelConfig fixed = small_config("vae", LikelihoodKind::gaussian, Sigma::fixed);
  fixed.fixed_sigma2 = 0.05;
  // Three stochastic layers: z (2 wide), z2 (3), z3 (2).
  ModelConfig deep_gauss = small_config("hvae"), deep_bern = small_config("hvae", LikelihoodKind::bernoulli);
  deep_gauss.latents_above = deep_bern.latents_above = {3, 2};
  // q(z|x) through two IAF steps.
  ModelConfig iaf_gauss = small_config("vae"), iaf_bern = small_config("vae", LikelihoodKind::bernoulli);
  iaf_gauss.settings = iaf_bern.settings = {{"posterior", "iaf"}, {"flow-steps", "2"}, {"iaf-hidden", "6"}};
  // The discretized logistic of 8-bit pixels, one component or a mixture of three, in every kind
  // that has a likelihood.
  ModelConfig logistic_mixture = small_config("vae", LikelihoodKind::logistic), iaf_logistic = logistic_mixture;
  // A diffusion model of the 8x8 images (its U-Net's smallest shape) with T = 4 steps.
  ModelConfig diffusion = small_config("diffusion");
  diffusion.settings = {{"diffusion-steps", "4"}, {"bound-images", "3"}};
  logistic_mixture.logistic_mixture = 3;
  iaf_logistic.settings = iaf_gauss.settings;
  return {
      {"ae", small_config("ae")},
      {"rae", rae},
      {"vae gaussian learned", small_config("vae")},
      {"vae gaussian per-pixel", small_config("vae", LikelihoodKind::gaussian, Sigma::per_pixel)},
      {"vae gaussian optimal", small_config("vae", LikelihoodKind::gaussian, Sigma::optimal)},
      {"vae gaussian fixed", fixed},
      {"vae bernoulli", small_config("vae", LikelihoodKind::bernoulli)},
      {"cvae gaussian learned", small_config("cvae")},
      {"hvae gaussian learned", small_config("hvae")},
      {"hvae bernoulli", small_config("hvae", LikelihoodKind::bernoulli)},
      {"hvae three layers gaussian learned", deep_gauss},
      {"hvae three layers bernoulli", deep_bern},
      {"mog bernoulli", small_config("mog", LikelihoodKind::bernoulli)},
      {"flow", small_config("flow")},
      {"vae iaf gaussian learned", iaf_gauss},
      {"vae iaf bernoulli", iaf_bern},
      {"vae logistic", small_config("vae", LikelihoodKind::logistic)},
      {"vae logistic mixture of 3", logistic_mixture},
      {"cvae logistic", small_config("cvae", LikelihoodKind::logistic)},
      {"hvae logistic", small_config("hvae", LikelihoodKind::logistic)},
      {"mog logistic", small_config("mog", LikelihoodKind::logistic)},
      {"vae iaf logistic", iaf_logistic},
      {"diffusion", diffusion},
  };
}

// KL(N(mu, e^lv) || N(pmu, e^plv)) of row i, summed over latents in double, from the codes'
// values; the prior's may be one row shared by all.
template <class T>
double closed_form_kl(const Var<T>& mu, const Var<T>& lv, const Var<T>& pmu, const Var<T>& plv, std::size_t i) {
  const std::size_t k = mu.cols(), pi = pmu.rows() == 1 ? 0 : i;
  double kl = 0;
  for (std::size_t j = 0; j < k; ++j) {
    const double m = mu.node().value[i * k + j], v = lv.node().value[i * k + j];
    const double pm = pmu.node().value[pi * k + j], pv = plv.node().value[pi * k + j];
    kl += 0.5 * (pv - v + (std::exp(v) + (m - pm) * (m - pm)) / std::exp(pv) - 1);
  }
  return kl;
}

template <class T>
bool all_finite(const ParameterStore<T>& store) {
  for (T v : store.values())
    if (!std::isfinite(v)) return false;
  return true;
}


}  // namespace vk::test_vae
