// The classifier whose last hidden layer vae-eval --fid compares images by, trained once per data
// set and kept in a folder: every evaluation against one data set then measures with the same
// features, and only the first one pays for the training.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "datasets/load.hpp"
#include "vae/classifier.hpp"

namespace vk::programs {

// Fixed, so that distances measured apart compare: one hidden layer of 256 ReLUs, 5 epochs of Adam
// at 1e-3 in batches of 128, seed 1.
struct FeatureClassifierSettings {
  std::size_t hidden = 256, epochs = 5, batch = 128;
  std::uint64_t seed = 1;
};

struct FeatureClassifier {
  std::unique_ptr<vae::Classifier> classifier;
  nlohmann::json info;  // what it was trained on, how, and its test accuracy (the folder's metadata)
};

// The classifier in dir when its metadata says it was trained with these settings on the first
// data.train.count - held_out training images of these data (their count, shape and crc32);
// otherwise, when dir holds nothing, one trained now and saved there (a checkpoint: the .npy
// files and manifest.json). The last held_out training images stay unseen, the real images the
// distance's floor is measured on. Throws one line naming dir when it holds another classifier or
// anything else, and naming the data when they have no labels or too few images.
FeatureClassifier cached_classifier(const std::filesystem::path& dir, const data::Dataset& data, std::size_t held_out,
                                    const FeatureClassifierSettings& settings = {});

}  // namespace vk::programs
