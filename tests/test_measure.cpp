// What samples are measured with, against cases whose answers are known: LAPACK's eigen and
// singular values, the Fréchet distance between Gaussians, the Laplacian sharpness of images, and
// the classifier features the distance is taken over.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "experiments/measure/frechet.hpp"
#include "experiments/measure/linalg.hpp"
#include "experiments/measure/sharpness.hpp"
#include "vae/classifier.hpp"

namespace ms = vk::measure;

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
  const std::vector<double> two = ms::symmetric_eigenvalues({2, 1, 1, 2}, 2);
  CHECK(two[0] == doctest::Approx(3).epsilon(1e-12));
  CHECK(two[1] == doctest::Approx(1).epsilon(1e-12));
  // Q diag(5, 3, 1, 0.001) Q^T: the eigenvalues come back, sorted.
  const std::vector<double> want = {5, 3, 1, 1e-3};
  const std::vector<double> q = rotated_identity(4, {{0, 1, 0.3}, {1, 3, 1.1}, {0, 2, -0.7}, {2, 3, 0.4}});
  const std::vector<double> got = ms::symmetric_eigenvalues(with_singular_values(q, want, q, 4), 4);
  REQUIRE(got.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
  CHECK_THROWS_WITH_AS(ms::symmetric_eigenvalues({1, 2, 3}, 2), "symmetric_eigenvalues: 3 values do not make a 2 x 2 matrix",
                       std::invalid_argument);
}

TEST_CASE("singular values of a tall matrix, the smallest to its own relative accuracy") {
  // U diag(s) V^T, 7 x 3, with s spanning 10 orders of magnitude: through eig(J^T J) the 1e-9 would
  // sink below the rounding of 25 (about 5e-15 there, so its square root 7e-8); LAPACK's SVD keeps it.
  const std::vector<double> s = {5, 0.2, 1e-9};
  const std::vector<double> u = rotated_identity(7, {{0, 4, 0.9}, {1, 6, -1.3}, {2, 5, 0.5}, {0, 2, 2.0}, {3, 1, 0.7}});
  const std::vector<double> v = rotated_identity(3, {{0, 1, 0.8}, {1, 2, -0.4}, {0, 2, 1.9}});
  const std::vector<double> got = ms::singular_values(with_singular_values(u, s, v, 7), 7, 3);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == doctest::Approx(5).epsilon(1e-12));
  CHECK(got[1] == doctest::Approx(0.2).epsilon(1e-12));
  CHECK(got[2] == doctest::Approx(1e-9).epsilon(1e-5));
  // A rank-one matrix: one singular value, the others zero to rounding.
  const std::vector<double> r1 = ms::singular_values({1, 2, 2, 4, 3, 6}, 3, 2);
  CHECK(r1[0] == doctest::Approx(std::sqrt(70.0)).epsilon(1e-12));
  CHECK(r1[1] < 1e-14);
  CHECK_THROWS_AS(ms::singular_values({1, 2, 3}, 0, 3), std::invalid_argument);
}

namespace {

// A Gaussian given by its mean and covariance, as moments() would summarise a very large sample of it.
ms::Moments gaussian(std::vector<double> mean, std::vector<double> covariance) {
  const std::size_t d = mean.size();
  return {1000, d, std::move(mean), std::move(covariance)};
}

std::vector<double> diagonal(const std::vector<double>& v) {
  std::vector<double> m(v.size() * v.size(), 0);
  for (std::size_t i = 0; i < v.size(); ++i) m[i * v.size() + i] = v[i];
  return m;
}

// Q diag(v) Q^T.
std::vector<double> turned(const std::vector<double>& q, const std::vector<double>& v) {
  return with_singular_values(q, v, q, v.size());
}

// n rows of width d, each a fixed mixing of independent normals: a covariance that is not diagonal.
std::vector<double> correlated_rows(std::size_t n, std::size_t d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> mix(-1, 1);
  std::vector<double> a(d * d), rows(n * d, 0), e(d);
  for (double& v : a) v = mix(rng);
  for (std::size_t i = 0; i < n; ++i) {
    for (double& v : e) v = normal(rng);
    for (std::size_t j = 0; j < d; ++j)
      for (std::size_t k = 0; k < d; ++k) rows[i * d + j] += a[j * d + k] * e[k];
  }
  return rows;
}

}  // namespace

TEST_CASE("moments: the mean and the covariance over n - 1 of rows known by hand") {
  // The corners of a square of side 2 around (1, 1): variance 4 / 3 in each coordinate, none shared.
  const std::vector<float> rows = {0, 0, 2, 0, 0, 2, 2, 2};
  const ms::Moments m = ms::moments(rows.data(), 4, 2);
  CHECK(m.mean == std::vector<double>{1, 1});
  CHECK(m.covariance[0] == doctest::Approx(4.0 / 3));
  CHECK(m.covariance[3] == doctest::Approx(4.0 / 3));
  CHECK(m.covariance[1] == doctest::Approx(0).epsilon(1e-15));
  CHECK(m.covariance[2] == doctest::Approx(0).epsilon(1e-15));
  // Two points on a line: perfectly correlated coordinates.
  const std::vector<double> line = {0, 0, 1, 3};
  const ms::Moments l = ms::moments(line.data(), 2, 2);
  CHECK(l.covariance == std::vector<double>{0.5, 1.5, 1.5, 4.5});
  CHECK_THROWS_AS(ms::moments(rows.data(), 1, 2), std::invalid_argument);
}

TEST_CASE("Fréchet distance of Gaussians with diagonal covariances: |dmu|^2 + sum (sqrt a - sqrt b)^2") {
  const ms::Moments p = gaussian({0, 1, -2}, diagonal({4, 1, 0.25}));
  const ms::Moments q = gaussian({1, 1, 0}, diagonal({1, 9, 0.25}));
  // |dmu|^2 = 1 + 0 + 4; (2 - 1)^2 + (1 - 3)^2 + 0 = 5.
  CHECK(ms::frechet_distance(p, q) == doctest::Approx(10).epsilon(1e-12));
  // The same pair turned by one rotation: the covariances still commute, the distance is the same.
  const std::vector<double> r = rotated_identity(3, {{0, 1, 0.6}, {1, 2, -1.2}, {0, 2, 0.3}});
  const ms::Moments pr = gaussian({0, 1, -2}, turned(r, {4, 1, 0.25}));
  const ms::Moments qr = gaussian({1, 1, 0}, turned(r, {1, 9, 0.25}));
  CHECK(ms::frechet_distance(pr, qr) == doctest::Approx(10).epsilon(1e-10));
  // A singular covariance (a point mass in one direction) is a limit the square roots reach.
  CHECK(ms::frechet_distance(gaussian({0, 0}, diagonal({4, 0})), gaussian({0, 0}, diagonal({1, 1}))) ==
        doctest::Approx(1 + 1).epsilon(1e-12));
}

TEST_CASE("Fréchet distance of two non-commuting 2 x 2 covariances against the closed form of tr sqrt") {
  // For a 2 x 2 matrix M with real non-negative eigenvalues l1, l2, tr sqrt(M) = sqrt(l1) + sqrt(l2)
  // = sqrt(tr M + 2 sqrt(det M)); S_a S_b has the eigenvalues of S_a^1/2 S_b S_a^1/2.
  const std::vector<double> a = {2, 1, 1, 3}, b = {1, -0.5, -0.5, 2};
  const double tr_ab = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
  const double det_ab = (a[0] * a[3] - a[1] * a[2]) * (b[0] * b[3] - b[1] * b[2]);
  const double tr_root = std::sqrt(tr_ab + 2 * std::sqrt(det_ab));
  const double want = (0.5 * 0.5 + 2.0 * 2.0) + (2 + 3) + (1 + 2) - 2 * tr_root;
  CHECK(ms::frechet_distance(gaussian({0.5, 0}, a), gaussian({0, -2}, b)) == doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("Fréchet distance of sample sets: zero for one set, symmetric, |shift|^2 under a translation") {
  const std::size_t n = 3000, d = 12;
  const std::vector<double> x = correlated_rows(n, d, 1), y = correlated_rows(n, d, 2);
  const ms::Moments mx = ms::moments(x.data(), n, d), my = ms::moments(y.data(), n, d);
  double scale = 0;  // tr S_x: what rounding is relative to
  for (std::size_t j = 0; j < d; ++j) scale += mx.covariance[j * d + j];
  CHECK(std::abs(ms::frechet_distance(mx, mx)) < 1e-10 * scale);
  const double xy = ms::frechet_distance(mx, my);
  CHECK(xy > 0.1 * scale);  // other mixings of the normals: other covariances
  CHECK(ms::frechet_distance(my, mx) == doctest::Approx(xy).epsilon(1e-10));
  std::vector<double> shifted = x, shift(d);
  double shift2 = 0;
  for (std::size_t j = 0; j < d; ++j) {
    shift[j] = 0.5 * double(j) - 2;
    shift2 += shift[j] * shift[j];
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) shifted[i * d + j] += shift[j];
  CHECK(ms::frechet_distance(mx, ms::moments(shifted.data(), n, d)) == doctest::Approx(shift2).epsilon(1e-9));
  CHECK_THROWS_AS(ms::frechet_distance(mx, gaussian({0, 0}, diagonal({1, 1}))), std::invalid_argument);
}

TEST_CASE("Laplacian variance: zero on flat and linear images, large on a checkerboard") {
  const std::size_t h = 6, w = 7;
  std::vector<float> flat(h * w, 0.5f), ramp(h * w), board(h * w);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c) {
      ramp[r * w + c] = float(r + 2 * c) / 20.f;
      board[r * w + c] = float((r + c) % 2);
    }
  CHECK(ms::laplacian_variance(flat.data(), h, w) == doctest::Approx(0).epsilon(1e-12));
  CHECK(ms::laplacian_variance(ramp.data(), h, w) == doctest::Approx(0).epsilon(1e-10));
  // Interior Laplacians alternate +4 and -4 (nearly balanced): variance close to 16.
  CHECK(ms::laplacian_variance(board.data(), h, w) > 15);
}

TEST_CASE("Laplacian variance of an image computed by hand, grey and with a flat second channel") {
  // 4 x 4, one bright pixel at (1, 1): the interior Laplacians are -4 at (1, 1), 1 at (1, 2) and (2, 1),
  // 0 at (2, 2); mean -0.5, mean square 4.5, variance 4.25.
  std::vector<float> dot(16, 0.f);
  dot[1 * 4 + 1] = 1.f;
  CHECK(ms::laplacian_variance(dot.data(), 4, 4) == doctest::Approx(4.25).epsilon(1e-12));
  // Channels side by side, the second flat: eight values -4, 1, 1, 0, 0, 0, 0, 0; mean -0.25, mean
  // square 18 / 8, variance 2.1875.
  std::vector<float> two(32, 0.5f);
  for (std::size_t p = 0; p < 16; ++p) two[2 * p] = dot[p];
  CHECK(ms::laplacian_variance(two.data(), 4, 4, 2) == doctest::Approx(2.1875).epsilon(1e-12));
  // The mean over images: the dot's and a flat image's.
  std::vector<float> pair = dot;
  pair.insert(pair.end(), 16, 0.3f);
  CHECK(ms::mean_laplacian_variance(pair.data(), 2, 4, 4) == doctest::Approx(4.25 / 2).epsilon(1e-12));
  CHECK_THROWS_AS(ms::laplacian_variance(dot.data(), 2, 8), std::invalid_argument);
}

TEST_CASE("classifier features: the hidden layer's activations, which the output layer maps to the probabilities") {
  const std::size_t in = 4, hidden = 5, classes = 3, n = 6;
  vk::vae::Classifier c(in, classes, {hidden}, 11);
  CHECK(c.feature_width() == hidden);
  std::vector<float> x(n * in);
  for (std::size_t e = 0; e < x.size(); ++e) x[e] = std::sin(0.7f * float(e)) * 2.f;
  const std::vector<float> f = c.features(x.data(), n);
  REQUIRE(f.size() == n * hidden);
  // relu(x W1 + b1) from the parameters themselves, then softmax(f W2 + b2) against probabilities().
  const auto& store = c.params();
  const auto& entries = store.entries();
  REQUIRE(entries.size() == 4);
  REQUIRE((entries[0].rows == in && entries[0].cols == hidden && entries[1].rows == 1 && entries[1].cols == hidden));
  REQUIRE((entries[2].rows == hidden && entries[2].cols == classes && entries[3].cols == classes));
  const float* w1 = store.values().data() + entries[0].offset;
  const float* b1 = store.values().data() + entries[1].offset;
  const float* w2 = store.values().data() + entries[2].offset;
  const float* b2 = store.values().data() + entries[3].offset;
  const std::vector<float> p = c.probabilities(x.data(), n);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> logits(classes);
    for (std::size_t h = 0; h < hidden; ++h) {
      double a = b1[h];
      for (std::size_t k = 0; k < in; ++k) a += double(x[i * in + k]) * w1[k * hidden + h];
      CHECK(f[i * hidden + h] == doctest::Approx(std::max(0.0, a)).epsilon(1e-5));
      zeros += f[i * hidden + h] == 0.f;
      for (std::size_t y = 0; y < classes; ++y) logits[y] += double(f[i * hidden + h]) * w2[h * classes + y];
    }
    double total = 0;
    for (std::size_t y = 0; y < classes; ++y) total += std::exp(logits[y] += b2[y]);
    for (std::size_t y = 0; y < classes; ++y) CHECK(p[i * classes + y] == doctest::Approx(std::exp(logits[y]) / total).epsilon(1e-5));
  }
  CHECK(zeros > 0);  // the ReLU was applied: some activations are cut to zero
  CHECK(zeros < n * hidden);
}
