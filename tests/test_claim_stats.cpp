// The statistics lecture-claims decides its verdicts with, against cases whose answers are known.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "experiments/claims/stats.hpp"

namespace cl = vk::claims;

TEST_CASE("symmetric eigenvalues: known spectra, any rotation") {
  const std::vector<double> two = cl::symmetric_eigenvalues({2, 1, 1, 2}, 2);
  CHECK(two[0] == doctest::Approx(3).epsilon(1e-12));
  CHECK(two[1] == doctest::Approx(1).epsilon(1e-12));
  // Q diag(5, 3, 1, 0.001) Q^T with Q a product of rotations: the eigenvalues come back, sorted.
  const std::size_t n = 4;
  const double want[n] = {5, 3, 1, 1e-3};
  std::vector<double> q(n * n, 0);
  for (std::size_t i = 0; i < n; ++i) q[i * n + i] = 1;
  const std::tuple<std::size_t, std::size_t, double> rotations[] = {{0, 1, 0.3}, {1, 3, 1.1}, {0, 2, -0.7}, {2, 3, 0.4}};
  for (auto [p, r, angle] : rotations)
    for (std::size_t k = 0; k < n; ++k) {
      const double a = q[k * n + p], b = q[k * n + r];
      q[k * n + p] = std::cos(angle) * a - std::sin(angle) * b;
      q[k * n + r] = std::sin(angle) * a + std::cos(angle) * b;
    }
  std::vector<double> m(n * n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t k = 0; k < n; ++k) m[i * n + j] += q[i * n + k] * want[k] * q[j * n + k];
  const std::vector<double> got = cl::symmetric_eigenvalues(m, n);
  for (std::size_t i = 0; i < n; ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
}

TEST_CASE("KS distance: a normal sample passes, a shifted or scaled one does not") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::vector<double> x(20000);
  for (double& v : x) v = normal(rng);
  CHECK(cl::ks_normal(x) < cl::ks_critical(x.size()));
  std::vector<double> shifted = x, scaled = x;
  for (double& v : shifted) v += 0.1;
  for (double& v : scaled) v *= 1.2;
  CHECK(cl::ks_normal(shifted) > cl::ks_critical(x.size()));
  CHECK(cl::ks_normal(scaled) > cl::ks_critical(x.size()));
  // Lilliefors: a scaled normal is still a normal once fitted; a uniform is not.
  CHECK(cl::ks_fitted_normal(scaled) < cl::lilliefors_critical(x.size()));
  std::uniform_real_distribution<double> uniform;
  for (double& v : x) v = uniform(rng);
  CHECK(cl::ks_fitted_normal(x) > cl::lilliefors_critical(x.size()));
  // One point: the distance is max(Phi(0), 1 - Phi(0)) = 0.5.
  CHECK(cl::ks_normal({0.0}) == doctest::Approx(0.5));
}

TEST_CASE("Laplacian variance: zero on flat and linear images, large on a checkerboard") {
  const std::size_t h = 6, w = 7;
  std::vector<float> flat(h * w, 0.5f), ramp(h * w), board(h * w);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      ramp[r * w + c] = float(r + 2 * c) / 20.f;
      board[r * w + c] = float((r + c) % 2);
    }
  CHECK(cl::laplacian_variance(flat.data(), h, w) == doctest::Approx(0).epsilon(1e-12));
  CHECK(cl::laplacian_variance(ramp.data(), h, w) == doctest::Approx(0).epsilon(1e-10));
  // Interior Laplacians alternate +4 and -4 (nearly balanced): variance close to 16.
  CHECK(cl::laplacian_variance(board.data(), h, w) > 15);
}

TEST_CASE("spread: mean and sample standard deviation over seeds") {
  const cl::Spread s = cl::spread({1, 2, 3, 4});
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.sd == doctest::Approx(std::sqrt(5.0 / 3.0)));
  CHECK(cl::spread({7}).sd == 0);
  CHECK(cl::median_of({3, 1, 2, 10}) == doctest::Approx(2.5));
}
