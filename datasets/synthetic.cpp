#include "datasets/synthetic.hpp"

#include <cmath>
#include <numbers>
#include <span>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/random.hpp"
#include "io/error.hpp"  // DataError

namespace vk::data {

namespace {

std::span<double> all(Matrix<double>& m) { return {m.data(), m.size()}; }

Matrix<double> normal_matrix(vk::Rng& rng, std::size_t rows, std::size_t cols, double stddev) {
  Matrix<double> m = xt::zeros<double>({rows, cols});
  if (stddev > 0) vk::fill_normal(rng, all(m), 0.0, stddev);
  return m;
}

// x = clean + N(0, sigma^2) per coordinate, drawn from rng.
Matrix<double> add_noise(const Matrix<double>& clean, double sigma, vk::Rng& rng) {
  Matrix<double> x = clean;
  if (sigma > 0) {
    Matrix<double> noise = normal_matrix(rng, clean.shape(0), clean.shape(1), sigma);
    xt::noalias(x) = clean + noise;
  }
  return x;
}

// Rows of a [k, d] Gaussian matrix made orthonormal by Gram-Schmidt.
Matrix<double> orthonormal_rows(std::size_t k, std::size_t d, vk::Rng& rng) {
  Matrix<double> q = normal_matrix(rng, k, d, 1.0);
  for (std::size_t i = 0; i < k; ++i) {
    double* qi = q.data() + i * d;
    for (std::size_t p = 0; p < i; ++p) {
      const double* qp = q.data() + p * d;
      double dot = 0;
      for (std::size_t j = 0; j < d; ++j) dot += qi[j] * qp[j];
      for (std::size_t j = 0; j < d; ++j) qi[j] -= dot * qp[j];
    }
    double norm = 0;
    for (std::size_t j = 0; j < d; ++j) norm += qi[j] * qi[j];
    norm = std::sqrt(norm);
    for (std::size_t j = 0; j < d; ++j) qi[j] /= norm;
  }
  return q;
}

void gemm(const Matrix<double>& a, const Matrix<double>& b, Matrix<double>& c) {
  vk::blas::gemm<double>(false, false, a.shape(0), b.shape(1), a.shape(1), 1.0, a.data(), a.shape(1), b.data(),
                         b.shape(1), 0.0, c.data(), c.shape(1));
}

}  // namespace

Matrix<double> SmoothMap::operator()(const Matrix<double>& z) const {
  if (z.shape(1) != in_dim())
    throw DataError(fmt::format("SmoothMap: input has {} columns, the map takes {}", z.shape(1), in_dim()));
  Matrix<double> h = Matrix<double>::from_shape({z.shape(0), w1.shape(1)});
  gemm(z, w1, h);
  xt::noalias(h) = xt::tanh(h + b1);
  Matrix<double> y = Matrix<double>::from_shape({z.shape(0), out_dim()});
  gemm(h, w2, y);
  xt::noalias(y) = 1.0 / (1.0 + xt::exp(-(y + b2)));
  return y;
}

SmoothMap make_smooth_map(std::size_t intrinsic_dim, std::size_t ambient_dim, std::size_t hidden, double gain,
                          std::uint64_t seed) {
  vk::Rng rng(seed);
  SmoothMap f;
  f.w1 = normal_matrix(rng, intrinsic_dim, hidden, gain);
  f.b1 = normal_matrix(rng, 1, hidden, 1.0);
  // Variance 4/h keeps the sigmoid's input of order 1: curved but rarely saturated at 0 or 1.
  f.w2 = normal_matrix(rng, hidden, ambient_dim, 2.0 / std::sqrt(double(hidden)));
  f.b2 = normal_matrix(rng, 1, ambient_dim, 0.5);
  return f;
}

ManifoldData make_manifold(const ManifoldSpec& spec) {
  if (spec.intrinsic_dim == 0 || spec.ambient_dim < spec.intrinsic_dim || spec.hidden == 0)
    throw DataError(fmt::format("make_manifold: need 0 < intrinsic_dim ({}) <= ambient_dim ({}) and hidden > 0",
                                spec.intrinsic_dim, spec.ambient_dim));
  ManifoldData d;
  d.intrinsic_dim = spec.intrinsic_dim;
  d.ambient_dim = spec.ambient_dim;
  d.noise_sigma = spec.noise_sigma;
  d.map = make_smooth_map(spec.intrinsic_dim, spec.ambient_dim, spec.hidden, spec.gain, spec.map_seed);
  vk::Rng rng(spec.sample_seed);
  d.latent = Matrix<double>::from_shape({spec.count, spec.intrinsic_dim});
  vk::fill_uniform(rng, all(d.latent), -1.0, 1.0);
  d.clean = d.map(d.latent);
  d.x = add_noise(d.clean, spec.noise_sigma, rng);
  return d;
}

SwissRollData make_swiss_roll(const SwissRollSpec& spec) {
  if (spec.ambient_dim < 3) throw DataError(fmt::format("make_swiss_roll: ambient_dim {} < 3", spec.ambient_dim));
  SwissRollData d;
  d.ambient_dim = spec.ambient_dim;
  d.noise_sigma = spec.noise_sigma;
  vk::Rng rng(spec.sample_seed);
  d.latent = Matrix<double>::from_shape({spec.count, 2});
  Matrix<double> roll = Matrix<double>::from_shape({spec.count, 3});
  std::uniform_real_distribution<double> t_dist(1.5 * std::numbers::pi, 4.5 * std::numbers::pi), h_dist(0.0, 21.0);
  for (std::size_t i = 0; i < spec.count; ++i) {
    double t = t_dist(rng), h = h_dist(rng);
    d.latent(i, 0) = t;
    d.latent(i, 1) = h;
    roll(i, 0) = t * std::cos(t);
    roll(i, 1) = h;
    roll(i, 2) = t * std::sin(t);
  }
  if (spec.ambient_dim == 3) {
    d.embedding = Matrix<double>(xt::eye<double>(3));
    d.clean = roll;
  } else {
    vk::Rng embed_rng(spec.embed_seed);
    d.embedding = orthonormal_rows(3, spec.ambient_dim, embed_rng);
    d.clean = Matrix<double>::from_shape({spec.count, spec.ambient_dim});
    gemm(roll, d.embedding, d.clean);
  }
  d.x = add_noise(d.clean, spec.noise_sigma, rng);
  return d;
}

MixtureData make_mixture(const MixtureSpec& spec) {
  if (spec.classes == 0 || spec.classes > 256 || spec.dim == 0)
    throw DataError(fmt::format("make_mixture: need 1..256 classes (got {}) and dim > 0", spec.classes));
  MixtureData d;
  d.classes = spec.classes;
  d.component_sigma = spec.component_sigma;
  vk::Rng rng(spec.seed);
  d.means = normal_matrix(rng, spec.classes, spec.dim, spec.mean_spread);
  d.labels.resize(spec.count);
  for (auto& l : d.labels) l = std::uint8_t(rng() % spec.classes);
  d.x = normal_matrix(rng, spec.count, spec.dim, spec.component_sigma);
  for (std::size_t i = 0; i < spec.count; ++i)
    for (std::size_t j = 0; j < spec.dim; ++j) d.x(i, j) += d.means(d.labels[i], j);
  return d;
}

}  // namespace vk::data
