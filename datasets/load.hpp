// The one door of image data: what --data PATH names, in any of the forms vaekit reads.
#pragma once

#include <filesystem>

#include "datasets/mnist.hpp"

namespace vk::data {

// PATH is, by what it holds:
//   a file NAME.npy               one images array (datasets/npy_images.hpp), its labels from
//                                 NAME_labels.npy if present; the last N/7 images are the test set
//   a folder with train_images.npy  train_images.npy and test_images.npy (with train_labels.npy and
//                                 test_labels.npy, or neither)
//   a folder with data_batch_1.bin  CIFAR-10's binary batches (datasets/cifar.hpp)
//   any other folder              MNIST's IDX files (load_mnist_folder)
// Throws DataError naming the file and what is wrong with it.
Dataset load_dataset(const std::filesystem::path& path = default_data_dir);

// What --data takes, for the programs' --help.
inline constexpr const char* data_help =
    "images: a folder of MNIST IDX files, a NAME.npy file (with NAME_labels.npy), a folder of train_images.npy and "
    "test_images.npy, or a folder of CIFAR-10 binary batches";

}  // namespace vk::data
