// The statistics lecture-claims decides its verdicts with, against cases whose answers are known.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "experiments/claims/linalg.hpp"
#include "experiments/claims/stats.hpp"

namespace cl = vk::claims;

namespace {

// An orthogonal n x n matrix (row-major): the identity turned by Givens rotations in the planes (p, r).
std::vector<double> rotated_identity(std::size_t n, const std::vector<std::tuple<std::size_t, std::size_t, double>>& rotations) {
  std::vector<double> q(n * n, 0);
  for (std::size_t i = 0; i < n; ++i) q[i * n + i] = 1;
  for (auto [p, r, angle] : rotations)
    for (std::size_t k = 0; k < n; ++k) {
      const double a = q[k * n + p], b = q[k * n + r];
      q[k * n + p] = std::cos(angle) * a - std::sin(angle) * b;
      q[k * n + r] = std::sin(angle) * a + std::cos(angle) * b;
    }
  return q;
}

// u [rows, rows] diag(s) v^T [cols, cols], s of length cols <= rows: a matrix whose singular values are s.
std::vector<double> with_singular_values(const std::vector<double>& u, const std::vector<double>& s,
                                         const std::vector<double>& v, std::size_t rows) {
  const std::size_t cols = s.size();
  std::vector<double> m(rows * cols, 0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j)
      for (std::size_t k = 0; k < cols; ++k) m[i * cols + j] += u[i * rows + k] * s[k] * v[j * cols + k];
  return m;
}

}  // namespace

TEST_CASE("symmetric eigenvalues: known spectra, any rotation") {
  const std::vector<double> two = cl::symmetric_eigenvalues({2, 1, 1, 2}, 2);
  CHECK(two[0] == doctest::Approx(3).epsilon(1e-12));
  CHECK(two[1] == doctest::Approx(1).epsilon(1e-12));
  // Q diag(5, 3, 1, 0.001) Q^T: the eigenvalues come back, sorted.
  const std::vector<double> want = {5, 3, 1, 1e-3};
  const std::vector<double> q = rotated_identity(4, {{0, 1, 0.3}, {1, 3, 1.1}, {0, 2, -0.7}, {2, 3, 0.4}});
  const std::vector<double> got = cl::symmetric_eigenvalues(with_singular_values(q, want, q, 4), 4);
  REQUIRE(got.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
  CHECK_THROWS_WITH_AS(cl::symmetric_eigenvalues({1, 2, 3}, 2), "symmetric_eigenvalues: 3 values do not make a 2 x 2 matrix",
                       std::invalid_argument);
}

TEST_CASE("singular values of a tall matrix, the smallest to its own relative accuracy") {
  // U diag(s) V^T, 7 x 3, with s spanning 10 orders of magnitude: through eig(J^T J) the 1e-9 would
  // sink below the rounding of 25 (about 5e-15 there, so its square root 7e-8); LAPACK's SVD keeps it.
  const std::vector<double> s = {5, 0.2, 1e-9};
  const std::vector<double> u = rotated_identity(7, {{0, 4, 0.9}, {1, 6, -1.3}, {2, 5, 0.5}, {0, 2, 2.0}, {3, 1, 0.7}});
  const std::vector<double> v = rotated_identity(3, {{0, 1, 0.8}, {1, 2, -0.4}, {0, 2, 1.9}});
  const std::vector<double> got = cl::singular_values(with_singular_values(u, s, v, 7), 7, 3);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == doctest::Approx(5).epsilon(1e-12));
  CHECK(got[1] == doctest::Approx(0.2).epsilon(1e-12));
  CHECK(got[2] == doctest::Approx(1e-9).epsilon(1e-5));
  // A rank-one matrix: one singular value, the others zero to rounding.
  const std::vector<double> r1 = cl::singular_values({1, 2, 2, 4, 3, 6}, 3, 2);
  CHECK(r1[0] == doctest::Approx(std::sqrt(70.0)).epsilon(1e-12));
  CHECK(r1[1] < 1e-14);
  CHECK_THROWS_AS(cl::singular_values({1, 2, 3}, 0, 3), std::invalid_argument);
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
