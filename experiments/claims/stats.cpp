#include "experiments/claims/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "experiments/measure/frechet.hpp"

namespace vk::claims {

Spread spread(const std::vector<double>& per_seed) {
  Spread s{mean_of(per_seed), 0, per_seed};
  if (per_seed.size() > 1) {
    double ss = 0;
    for (double v : per_seed) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / double(per_seed.size() - 1));
  }
  return s;
}

nlohmann::json to_json(const Spread& s) { return {{"mean", s.mean}, {"sd", s.sd}, {"per_seed", s.per_seed}}; }

double mean_of(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<double> covariance(const std::vector<double>& x, std::size_t n, std::size_t d) {
  return measure::moments(x.data(), n, d).covariance;
}

double ks_normal(std::vector<double> sample, double mean, double sd) {
  std::sort(sample.begin(), sample.end());
  const double n = double(sample.size());
  double d = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double cdf = 0.5 * std::erfc(-(sample[i] - mean) / (sd * std::sqrt(2.0)));
    d = std::max({d, double(i + 1) / n - cdf, cdf - double(i) / n});
  }
  return d;
}

double ks_fitted_normal(const std::vector<double>& sample) {
  const double m = mean_of(sample);
  double ss = 0;
  for (double v : sample) ss += (v - m) * (v - m);
  return ks_normal(sample, m, std::sqrt(ss / double(sample.size() - 1)));
}

double ks_critical(std::size_t n) { return 1.36 / std::sqrt(double(n)); }
double lilliefors_critical(std::size_t n) { return 0.886 / std::sqrt(double(n)); }

}  // namespace vk::claims
