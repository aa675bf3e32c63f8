// vae-eval --fid N: how close a model's samples come to real images, by two measures not of our
// own making. The Fréchet distance between the features of N samples and of N test images (FID's
// method, Heusel et al. 2017, with the project's classifier standing in for Inception on these small
// images, so the numbers do not compare with published FIDs), beside the same distance between two
// sets of N real images (the floor); and the ratio of the samples' Laplacian variance to the real
// images' (lecture-claims' claim 8: below 1 is blur).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "datasets/load.hpp"
#include "vae/classifier.hpp"
#include "vae/model.hpp"

namespace vk::programs {

struct SampleQualityOptions {
  std::size_t n = 0;                        // samples, test images, and the floor's training images
  std::filesystem::path classifier_dir;     // cached_classifier's folder
  std::uint64_t seed = 1;                   // of z ~ p(z), as vae-sample's --seed
};

// n mean images E[x|z] of z ~ p(z) (labels 0, 1, 2, ... in turn for a conditional model), as
// vae-sample draws them, clamped to [0, 1] as the pictures show them: what both measures read.
std::vector<float> draw_samples(vae::Model<float>& model, std::size_t n, std::uint64_t seed);

// The Fréchet distance between the classifier's features of n images a and n images b [n, dim],
// pixels in [0, 1]: vae-eval --fid's and lecture-claims' one way of taking it.
double feature_frechet(vae::Classifier& classifier, const float* a, const float* b, std::size_t n);

// Throws one line naming --fid when n is 0 or more than the test images.
void check_fid_count(std::size_t n, const data::Dataset& data);

// The N samples are draw_samples'; the real images
// are the first N test images and, for the floor, the last N training images, which the
// classifier did not train on. Returns {"fid", "fid_real", "n", "laplacian_variance_ratio",
// "laplacian_variance_samples", "laplacian_variance_real", "features", "samples", "classifier", "seed", "seconds"} (seconds without the classifier's training).
nlohmann::json sample_quality(vae::Model<float>& model, const data::Dataset& data, const SampleQualityOptions& o);

}  // namespace vk::programs
