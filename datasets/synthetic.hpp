// Synthetic data with known ground truth, for testing claims about what a model learns: a curved
// manifold of known intrinsic dimension plus Gaussian noise of known sigma, a swiss roll, and a
// labelled Gaussian mixture. Every generator is a pure function of its spec (seeds included), and
// returns the truth beside the data. Feed the data to Batcher<T>(x, labels, classes, options).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "autodiff/tensor.hpp"

namespace vk::data {

// A fixed smooth map R^m -> R^d, a random 2-layer network with values in (0,1):
//   f(z) = sigmoid(tanh(z W1 + b1) W2 + b2),  W1 [m,h], b1 [h], W2 [h,d], b2 [d].
// With h and d well above m it is, generically, a smooth embedding of [-1,1]^m whose image bends
// (tanh saturates for gain > 1) and mostly stays within [0.1, 0.9].
struct SmoothMap {
  Matrix<double> w1, b1, w2, b2;  // b1 [1,h], b2 [1,d]

  std::size_t in_dim() const { return w1.shape(0); }
  std::size_t out_dim() const { return w2.shape(1); }
  Matrix<double> operator()(const Matrix<double>& z) const;  // [n,m] -> [n,d]
};

SmoothMap make_smooth_map(std::size_t intrinsic_dim, std::size_t ambient_dim, std::size_t hidden, double gain,
                          std::uint64_t seed);

struct ManifoldSpec {
  std::size_t count = 1000;
  std::size_t intrinsic_dim = 2;   // m
  std::size_t ambient_dim = 784;   // d
  std::size_t hidden = 64;
  double gain = 2.0;               // scale of W1: larger bends the manifold more
  double noise_sigma = 0.05;       // standard deviation of the isotropic Gaussian noise in R^d
  std::uint64_t map_seed = 1;      // fixes the manifold: share it between train and test sets
  std::uint64_t sample_seed = 2;   // fixes the points and the noise
};

struct ManifoldData {
  Matrix<double> x;       // [count, d] observations: clean + noise
  Matrix<double> clean;   // [count, d] f(latent), the points on the manifold
  Matrix<double> latent;  // [count, m] intrinsic coordinates, uniform in [-1,1]^m
  SmoothMap map;          // f
  std::size_t intrinsic_dim = 0, ambient_dim = 0;
  double noise_sigma = 0;
};

ManifoldData make_manifold(const ManifoldSpec& spec);

struct SwissRollSpec {
  std::size_t count = 1000;
  std::size_t ambient_dim = 3;     // >= 3: the roll is placed in R^d by a random orthonormal map
  double noise_sigma = 0.0;        // in the roll's own units (its extent is about 20)
  std::uint64_t sample_seed = 0;
  std::uint64_t embed_seed = 1;
};

// The classic roll (as scikit-learn makes it): t ~ U(1.5 pi, 4.5 pi), height ~ U(0, 21),
// point (t cos t, height, t sin t), then times `embedding`, then noise.
struct SwissRollData {
  Matrix<double> x;          // [count, d] observations
  Matrix<double> clean;      // [count, d] noiseless points
  Matrix<double> latent;     // [count, 2] (t, height): the intrinsic coordinates
  Matrix<double> embedding;  // [3, d] orthonormal rows; the identity when d == 3
  std::size_t intrinsic_dim = 2, ambient_dim = 0;
  double noise_sigma = 0;
};

SwissRollData make_swiss_roll(const SwissRollSpec& spec);

struct MixtureSpec {
  std::size_t count = 1000;
  std::size_t classes = 3;         // at most 256
  std::size_t dim = 2;
  double mean_spread = 4.0;        // component means ~ N(0, mean_spread^2 I)
  double component_sigma = 1.0;    // each component is N(mean_k, component_sigma^2 I)
  std::uint64_t seed = 0;
};

// Equal-weight isotropic Gaussian mixture; labels are the components the points came from.
struct MixtureData {
  Matrix<double> x;                  // [count, dim]
  std::vector<std::uint8_t> labels;  // [count], each < classes
  Matrix<double> means;              // [classes, dim]
  std::size_t classes = 0;
  double component_sigma = 0;
};

MixtureData make_mixture(const MixtureSpec& spec);

}  // namespace vk::data
