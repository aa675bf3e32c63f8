#include "experiments/measure/frechet.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "experiments/measure/linalg.hpp"

namespace vk::measure {
namespace {

// The symmetric square root V diag(sqrt(max(lambda, 0))) V^T of the n x n a.
std::vector<double> sqrt_psd(const std::vector<double>& a, std::size_t n) {
  SymmetricEigen e = symmetric_eigen(a, n);
  std::vector<double> scaled = e.vectors;  // V diag(sqrt(lambda))
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) scaled[i * n + k] *= std::sqrt(std::max(0.0, e.values[k]));
  std::vector<double> out(n * n);
  blas::gemm<double>(false, true, n, n, n, 1.0, scaled.data(), n, e.vectors.data(), n, 0.0, out.data(), n);
  return out;
}

double trace(const std::vector<double>& a, std::size_t n) {
  double t = 0;
  for (std::size_t i = 0; i < n; ++i) t += a[i * n + i];
  return t;
}

}  // namespace

template <class T>
Moments moments(const T* rows, std::size_t n, std::size_t d) {
  if (n < 2 || d == 0)
    throw std::invalid_argument(fmt::format("moments: a covariance needs at least 2 rows of width 1 or more, not {} of {}", n, d));
  Moments m{n, d, std::vector<double>(d, 0.0), std::vector<double>(d * d)};
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) m.mean[j] += double(rows[i * d + j]);
  for (double& v : m.mean) v /= double(n);
  // Centred first: the product of uncentred rows minus n mu mu^T would cancel away small variances.
  std::vector<double> centred(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) centred[i * d + j] = double(rows[i * d + j]) - m.mean[j];
  blas::gemm<double>(true, false, d, d, n, 1.0 / double(n - 1), centred.data(), d, centred.data(), d, 0.0,
                     m.covariance.data(), d);
  return m;
}

template Moments moments(const float*, std::size_t, std::size_t);
template Moments moments(const double*, std::size_t, std::size_t);

double frechet_distance(const Moments& a, const Moments& b) {
  if (a.d != b.d || a.d == 0)
    throw std::invalid_argument(fmt::format("frechet_distance: features of width {} and {}", a.d, b.d));
  const std::size_t d = a.d;
  double mean_term = 0;
  for (std::size_t j = 0; j < d; ++j) mean_term += (a.mean[j] - b.mean[j]) * (a.mean[j] - b.mean[j]);
  const std::vector<double> root_a = sqrt_psd(a.covariance, d);
  std::vector<double> tmp(d * d), middle(d * d);
  blas::gemm<double>(false, false, d, d, d, 1.0, root_a.data(), d, b.covariance.data(), d, 0.0, tmp.data(), d);
  blas::gemm<double>(false, false, d, d, d, 1.0, tmp.data(), d, root_a.data(), d, 0.0, middle.data(), d);
  // Symmetric up to rounding; LAPACK reads one triangle, so make both the same.
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t k = 0; k < i; ++k) middle[i * d + k] = middle[k * d + i] = 0.5 * (middle[i * d + k] + middle[k * d + i]);
  double trace_root = 0;
  for (double lambda : symmetric_eigen(middle, d).values) trace_root += std::sqrt(std::max(0.0, lambda));
  return mean_term + trace(a.covariance, d) + trace(b.covariance, d) - 2.0 * trace_root;
}

}  // namespace vk::measure
