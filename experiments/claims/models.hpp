// The models the claims measure: training one with the framework's loop, and the decoder
// Jacobian dD/dz taken by the tape (in double) and checked against finite differences.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "datasets/mnist.hpp"
#include "vae/model.hpp"
#include "vae/train.hpp"

namespace vk::claims {

// Trains a model of config mc on `train` for `epochs` with vae::Trainer; one line on stderr per
// model, named `what`.
std::unique_ptr<vae::Model<float>> train_model(const vae::ModelConfig& mc, const data::ImageSet& train,
                                               const vae::TrainOptions& options, std::size_t epochs,
                                               const std::string& what);

// The mean images of n draws z ~ N(0, I) (seeded) through an unconditional model's decoder.
std::vector<float> decode_standard_normal(vae::Model<float>& model, std::size_t n, std::uint64_t seed);

// The Jacobian of an unconditional model's decoder mean at each of the n codes z [n, latent]:
// [n][input_dim x latent] row-major, by the tape on a double copy of the model.
std::vector<std::vector<double>> decoder_jacobians(const vae::Model<float>& model, const std::vector<float>& z,
                                                   std::size_t n);

// The largest |J_tape - J_fd| / max |J_fd| over the first `points` codes, J_fd by central
// differences (step 1e-5) of the same double model.
double jacobian_fd_error(const vae::Model<float>& model, const std::vector<float>& z, std::size_t points,
                         const std::vector<std::vector<double>>& tape_jacobians);

// Singular values (descending, linalg.hpp) above tolerance * the largest.
std::size_t numerical_rank(const std::vector<double>& singular, double tolerance);

}  // namespace vk::claims
