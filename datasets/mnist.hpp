// MNIST-layout image sets (MNIST, Fashion-MNIST, KMNIST): loading a folder, validation splits,
// static binarization and class names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autodiff/random.hpp"
#include "autodiff/shape.hpp"
#include "io/idx.hpp"

namespace vk::data {

inline constexpr const char* default_data_dir = "/usr/share/datasets/fashion-mnist";

inline constexpr std::array<std::string_view, 10> fashion_mnist_classes = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

// Images kept as bytes (a quarter of the memory of floats); batches are converted when drawn.
// A pixel's channels are side by side (channels last: R G B R G B ...), as the conv layers read a
// row. INVARIANT: pixels.size() == count * dim(), labels.size() == count, every label < classes.
struct ImageSet {
  std::vector<std::uint8_t> pixels;  // [count, height, width, channels] row-major, 0..255
  std::vector<std::uint8_t> labels;  // [count]
  std::size_t count = 0, height = 0, width = 0, channels = 1, classes = 10;

  std::size_t dim() const { return height * width * channels; }
  Shape shape() const { return vk::image(channels, height, width); }
  std::span<const std::uint8_t> image(std::size_t i) const { return {pixels.data() + i * dim(), dim()}; }
  // Images first .. first + n - 1 as values v / 255 in [0, 1].
  std::vector<float> unit_pixels(std::size_t first, std::size_t n) const {
    std::vector<float> out(n * dim());
    const std::uint8_t* p = pixels.data() + first * dim();
    for (std::size_t e = 0; e < out.size(); ++e) out[e] = float(p[e]) / 255.f;
    return out;
  }
};

// Reads an images file (IDX rank 3) and its labels file (IDX rank 1); each gzip or raw by content.
// Throws DataError naming the offending file if the counts differ or a label is >= classes.
ImageSet read_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                       std::size_t classes = 10);

struct Dataset {
  ImageSet train, test;
  std::vector<std::string> class_names;  // classes entries
  std::string form = "mnist";            // what load_dataset read: mnist, npy, npy-folder or cifar10
};

// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from `dir`, each found as `name` or `name.gz`. Class names follow the
// folder name: Fashion-MNIST names if it contains "fashion", KMNIST romaji if "kmnist", else digits.
Dataset load_mnist_folder(const std::filesystem::path& dir = default_data_dir);

// Throws DataError naming test_file unless the test images have the training images' shape.
void require_same_shape(const Dataset& d, const std::filesystem::path& test_file);

// `dir/name` if it exists, else `dir/name.gz`; throws DataError if neither does.
std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& name);

// The class names load_mnist_folder uses for a folder, e.g. fashion_mnist_classes.
std::vector<std::string> class_names_for(const std::filesystem::path& dir);

struct Split {
  std::vector<std::size_t> train, validation;  // each sorted ascending; together 0..count-1
};

// Fisher-Yates written out (not std::shuffle) so an order depends on the seed alone, not on the
// standard library's distribution code.
void shuffle_indices(std::span<std::size_t> indices, vk::Rng& rng);

// A seeded random choice of n_validation of `count` indices for validation; the rest train.
Split split_indices(std::size_t count, std::size_t n_validation, std::uint64_t seed);

// The images at `indices`, in that order.
ImageSet subset(const ImageSet& set, std::span<const std::size_t> indices);

// {train, validation} carved from `set` by split_indices; throws DataError if n_validation >= count.
std::pair<ImageSet, ImageSet> split_validation(const ImageSet& set, std::size_t n_validation, std::uint64_t seed);

// The first min(n, count) images.
ImageSet take_first(const ImageSet& set, std::size_t n);

// Replaces each pixel p by 255 with probability p/255, else 0: one draw per pixel, fixed by `seed`
// and the pixel's position (not by the order of calls), so Batcher's Binarize::static_ with the same
// seed gives exactly the same images.
void binarize_static(ImageSet& set, std::uint64_t seed);

// Binarization draws are counter-based (vk::key_of over seed and image index, vk::keyed_bits per
// pixel), so they need no storage and no call order.
inline std::uint64_t static_row_key(std::uint64_t seed, std::size_t image) { return key_of(seed, image); }
// The uniform 32-bit draw for pixel `j` of the image with key `row_key`.
inline std::uint32_t static_draw(std::uint64_t row_key, std::size_t j) {
  return std::uint32_t(keyed_bits(row_key, j) >> 32);
}

// p = v/255 as a 2^32-scaled threshold: a pixel of value v is on when draw < threshold(v).
inline std::uint64_t bernoulli_threshold(std::uint8_t v) {
  return (std::uint64_t(v) * (std::uint64_t(1) << 32) + 127) / 255;
}

// Number of images of each class (size `classes`).
std::vector<std::size_t> class_counts(const ImageSet& set);

}  // namespace vk::data
