// Image sets as NumPy arrays: an images .npy (bytes, or floats in [0, 1]) and a labels .npy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "datasets/mnist.hpp"

namespace vk::data {

// An images array: uint8 ('|u1') or float ('<f4', '<f8', each value in [0, 1], rounded to the
// nearest of the 256 levels v * 255), of shape [N, H, W] (grey) or [N, H, W, C] with C = 1 or 3
// (channels last). Labels all 0, classes 1 (read_npy_labels adds them). Throws DataError naming the
// file for any other dtype or rank, an empty extent or a value outside [0, 1].
ImageSet read_npy_images(const std::filesystem::path& file);

// The labels of `count` images: integers ('|u1', '|i1', '<u2' ... '<i8') in 0..255 of shape [N] or
// [N, 1]. Throws DataError naming the file for another dtype, rank or length, or a label out of range.
std::vector<std::uint8_t> read_npy_labels(const std::filesystem::path& file, std::size_t count);

// The labels file of an images file: NAME_labels.npy beside NAME.npy or NAME_images.npy.
std::filesystem::path labels_beside(const std::filesystem::path& images);

// One images array and its labels (labels_beside, if that file exists): the last N/7 images (at
// least 1; 10,000 of a copy of MNIST's 70,000) are the test set, the others train, in file order.
Dataset load_npy_file(const std::filesystem::path& file);

// train_images.npy and test_images.npy of `dir`, each with its labels (train_labels.npy,
// test_labels.npy) where that file exists.
Dataset load_npy_folder(const std::filesystem::path& dir);

}  // namespace vk::data
