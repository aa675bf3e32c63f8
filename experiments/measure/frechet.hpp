// The Fréchet distance between two sets of feature rows, each summarised by a Gaussian (its mean
// and covariance): FID's measure (Heusel et al. 2017), here over the features of whatever network
// the caller takes them from.
#pragma once

#include <cstddef>
#include <vector>

namespace vk::measure {

// Mean [d] and sample covariance [d, d] (divided by n - 1, as numpy.cov) of n rows of width d.
struct Moments {
  std::size_t n = 0, d = 0;
  std::vector<double> mean, covariance;
};
// Sums in double: with 10,000 rows of float features a float sum loses the covariance's small
// eigenvalues, which the distance takes square roots of.
template <class T>
Moments moments(const T* rows, std::size_t n, std::size_t d);

// |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2). Both square roots are of symmetric
// positive semi-definite matrices, so both come from symmetric eigendecompositions (eigenvalues
// below zero by rounding count as zero) rather than from a general matrix square root of S_a S_b,
// which is not symmetric and whose scipy.linalg.sqrtm FID code has to patch with an offset when
// it turns complex or singular. tr((S_a^1/2 S_b S_a^1/2)^1/2) = tr((S_a S_b)^1/2): the same distance.
double frechet_distance(const Moments& a, const Moments& b);

}  // namespace vk::measure
