// The small statistics the claims are measured with: a summary over seeds, a covariance and the
// Kolmogorov-Smirnov distance to a normal (eigenvalues, singular values and the sharpness of an
// image: experiments/measure/).
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

namespace vk::claims {

// Mean and sample standard deviation (0 for one value) of one figure over seeds.
struct Spread {
  double mean = 0, sd = 0;
  std::vector<double> per_seed;
};
Spread spread(const std::vector<double>& per_seed);
nlohmann::json to_json(const Spread& s);

double mean_of(const std::vector<double>& v);
double median_of(std::vector<double> v);

// Covariance [d, d] of the n rows of x [n, d].
std::vector<double> covariance(const std::vector<double>& x, std::size_t n, std::size_t d);

// sup_t |F_n(t) - Phi((t - mean) / sd)| of the sample.
double ks_normal(std::vector<double> sample, double mean = 0, double sd = 1);
// The KS distance of a sample standardised by its own mean and sd (Lilliefors' statistic).
double ks_fitted_normal(const std::vector<double>& sample);
// 5% critical values at sample size n: KS against a given N(0, 1) (1.36 / sqrt n) and
// Lilliefors' against a fitted normal (0.886 / sqrt n), large-sample forms.
double ks_critical(std::size_t n);
double lilliefors_critical(std::size_t n);

}  // namespace vk::claims
