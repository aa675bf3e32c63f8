// The discretized logistic's log P(v) on float inputs three ways, against the logistic CDF's
// differences in long double (docs/likelihoods.md, "Numerics"): PixelCNN++'s formula in float
// (discretized_mix_logistic_loss of Salimans et al. 2017, one component: log(cdf_plus - cdf_min),
// and the density at the bin's middle times the bin's width where that difference is below
// 1e-5), the plain log(F(x + h) - F(x - h)) in float, and vaekit's logistic_loglik on a float tape.
// The grid: mu in [-0.25, 1.25] by 0.01, ls in [-7.5, 2] by 0.1 (on the pixel scale [0, 1]; PixelCNN++
// works on [-1, 1], where its clamp of ls at -7 is -7.69 here, so it never acts), every v.
//   build/bench/logistic-numerics
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autodiff/ops.hpp"

using namespace vk;
using Real = long double;

namespace {

// From the tail where the two CDF values do not cancel, each as its log (deep tails underflow even
// long double): log F(hi) + log(1 - e^{log F(lo) - log F(hi)}); the density at the middle times the
// width where the bin is under 1e-6 scales wide (t^2 / 24 relative: below long double's rounding).
Real softplus_ld(Real z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
Real reference(int v, Real mu, Real ls) {
  const Real s = std::exp(ls), x = Real(v) / 255, h = Real(0.5) / 255;
  auto log_cdf = [&](Real y) { return -softplus_ld(-(y - mu) / s); };
  auto log_survival = [&](Real y) { return -softplus_ld((y - mu) / s); };
  if (v == 0) return log_cdf(x + h);
  if (v == 255) return log_survival(x - h);
  if (2 * h / s < 1e-6) return log_cdf(x) + log_survival(x) - ls + std::log(2 * h);
  if (x - h > mu) return log_survival(x - h) + std::log(-std::expm1(log_survival(x + h) - log_survival(x - h)));
  return log_cdf(x + h) + std::log(-std::expm1(log_cdf(x - h) - log_cdf(x + h)));
}

float softplus(float x) { return std::max(x, 0.f) + std::log1p(std::exp(-std::abs(x))); }
float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// PixelCNN++ on x in [-1, 1]: the same bins, with mu and the scale mapped there.
float pixelcnn(int v, float mu01, float ls01) {
  const float x = float(v) / 127.5f - 1.f, mu = 2.f * mu01 - 1.f;
  const float log_scales = std::max(ls01 + float(std::log(2.0)), -7.f);
  const float c = x - mu, inv = std::exp(-log_scales);
  const float plus_in = inv * (c + 1.f / 255.f), min_in = inv * (c - 1.f / 255.f);
  const float cdf_delta = sigmoid(plus_in) - sigmoid(min_in), mid_in = inv * c;
  const float log_pdf_mid = mid_in - log_scales - 2.f * softplus(mid_in);
  if (x < -0.999f) return plus_in - softplus(plus_in);
  if (x > 0.999f) return -softplus(min_in);
  if (cdf_delta > 1e-5f) return std::log(std::max(cdf_delta, 1e-12f));
  return log_pdf_mid - float(std::log(127.5));
}

float cdf_difference(int v, float mu, float ls) {
  const float s = std::exp(ls), x = float(v) / 255.f, h = 0.5f / 255.f;
  auto cdf = [&](float y) { return 1.f / (1.f + std::exp(-(y - mu) / s)); };
  if (v == 0) return std::log(cdf(x + h));
  if (v == 255) return std::log(1.f - cdf(x - h));
  return std::log(cdf(x + h) - cdf(x - h));
}

struct Errors {
  const char* name;
  double worst_likely = 0, worst_relative = 0, worst_sum = 0, mu = 0, ls = 0, likely_mu = 0, likely_ls = 0;
  int v = 0, likely_v = 0;
  long infinite = 0;
  void add(double got, double ref, float m, float l, int value) {
    if (!std::isfinite(got)) {
      ++infinite;
      return;
    }
    const double e = std::abs(got - ref);
    if (ref > std::log(1e-6) && e > worst_likely) {
      worst_likely = e;
      likely_mu = m;
      likely_ls = l;
      likely_v = value;
    }
    if (e / std::max(1.0, std::abs(ref)) > worst_relative) {
      worst_relative = e / std::max(1.0, std::abs(ref));
      mu = m;
      ls = l;
      v = value;
    }
  }
};

}  // namespace

int main() {
  Errors errors[3] = {{"PixelCNN++ (float, mid-point fallback)"}, {"log(F(x + h) - F(x - h)), float"},
                      {"vaekit logistic_loglik, float tape"}};
  for (int i = 0; i <= 150; ++i)
    for (int j = 0; j <= 95; ++j) {
      const float mu = -0.25f + float(i) / 100.f, ls = -7.5f + float(j) / 10.f;
      Matrix<float> p = Matrix<float>::from_shape({256, 2}), x = Matrix<float>::from_shape({256, 1});
      for (int v = 0; v < 256; ++v) {
        p(v, 0) = mu;
        p(v, 1) = ls;
        x(v, 0) = float(v) / 255.f;
      }
      Tape<float> tape;
      NoGradGuard guard(tape);
      const Var<float> y = logistic_loglik(tape.constant(p), tape.constant(x));
      double sums[3] = {0, 0, 0};
      for (int v = 0; v < 256; ++v) {
        const double ref = double(reference(v, mu, ls));
        const double got[3] = {pixelcnn(v, mu, ls), cdf_difference(v, mu, ls), y.node().value[v]};
        for (int m = 0; m < 3; ++m) {
          errors[m].add(got[m], ref, mu, ls, v);
          if (std::isfinite(got[m])) sums[m] += std::exp(got[m]);
        }
      }
      for (int m = 0; m < 3; ++m) errors[m].worst_sum = std::max(errors[m].worst_sum, std::abs(sums[m] - 1));
    }
  std::printf("| computation | largest error of log P where P > 1e-6 (nats; at mu, ls, v) "
              "| largest error relative to max(1, \\|log P\\|) (at mu, ls, v) | not finite | largest \\|sum P - 1\\| |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  for (const Errors& e : errors)
    std::printf("| %s | %.2g (%.2f, %.1f, %d) | %.2g (%.2f, %.1f, %d) | %ld of %d | %.2g |\n", e.name, e.worst_likely, e.likely_mu,
                e.likely_ls, e.likely_v, e.worst_relative, e.mu, e.ls, e.v, e.infinite, 151 * 96 * 256, e.worst_sum);
}
