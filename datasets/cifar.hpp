// CIFAR-10's binary version (cifar-10-batches-bin): five training batches and a test batch, each a
// run of records of 1 label byte and a 32x32 RGB image stored plane by plane (1024 red bytes, then
// green, then blue).
#pragma once

#include <array>
#include <filesystem>
#include <string_view>

#include "datasets/mnist.hpp"

namespace vk::data {

inline constexpr std::size_t kCifarSide = 32, kCifarRecord = 1 + 3 * kCifarSide * kCifarSide;

inline constexpr std::array<std::string_view, 10> cifar10_classes = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

// One batch file: any positive whole number of records (10,000 in CIFAR-10's), as 32x32x3 images
// channels last. Throws DataError naming the file for a size that is not a whole number of
// records, or a label above 9 (naming its record and offset).
ImageSet read_cifar_batch(const std::filesystem::path& file);

// data_batch_1.bin ... data_batch_5.bin (in that order) as the training set, test_batch.bin as
// the test set; all six must be in `dir`.
Dataset load_cifar_folder(const std::filesystem::path& dir);

}  // namespace vk::data
