#include "datasets/mnist.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

#include <fmt/format.h>

namespace vk::data {

ImageSet read_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels,
                       std::size_t classes) {
  IdxArray img = read_idx(images, 3);
  IdxArray lab = read_idx(labels, 1);
  if (lab.dims[0] != img.dims[0])
    throw DataError(labels, fmt::format("{} labels but {} has {} images", lab.dims[0], images.string(), img.dims[0]));
  for (std::size_t i = 0; i < lab.data.size(); ++i)
    if (lab.data[i] >= classes)
      throw DataError(labels, fmt::format("label {} at index {} is out of range (classes = {})", lab.data[i], i,
                                          classes));
  ImageSet set;
  set.count = img.dims[0];
  set.height = img.dims[1];
  set.width = img.dims[2];
  set.classes = classes;
  set.pixels = std::move(img.data);
  set.labels = std::move(lab.data);
  return set;
}

std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& name) {
  std::filesystem::path raw = dir / name, gz = dir / (name + ".gz");
  std::error_code ec;
  if (std::filesystem::exists(raw, ec)) return raw;
  if (std::filesystem::exists(gz, ec)) return gz;
  if (!std::filesystem::is_directory(dir, ec)) throw DataError(dir, "data folder does not exist");
  throw DataError(raw, fmt::format("missing: neither {} nor {}.gz is in the folder", name, name));
}

std::vector<std::string> class_names_for(const std::filesystem::path& dir) {
  std::string name = std::filesystem::absolute(dir).lexically_normal().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("fashion") != std::string::npos)
    return {fashion_mnist_classes.begin(), fashion_mnist_classes.end()};
  if (name.find("kmnist") != std::string::npos) return {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

void require_same_shape(const Dataset& d, const std::filesystem::path& test_file) {
  if (d.test.shape() != d.train.shape())
    throw DataError(test_file, fmt::format("test images are {} but training images are {}", d.test.shape().text(),
                                           d.train.shape().text()));
}

Dataset load_mnist_folder(const std::filesystem::path& dir) {
  Dataset d;
  d.train = read_idx_pair(find_idx_file(dir, "train-images-idx3-ubyte"), find_idx_file(dir, "train-labels-idx1-ubyte"));
  d.test = read_idx_pair(find_idx_file(dir, "t10k-images-idx3-ubyte"), find_idx_file(dir, "t10k-labels-idx1-ubyte"));
  require_same_shape(d, find_idx_file(dir, "t10k-images-idx3-ubyte"));
  d.class_names = class_names_for(dir);
  return d;
}

void shuffle_indices(std::span<std::size_t> indices, vk::Rng& rng) {
  // The modulo bias is below 2^-40 for any index count that fits in memory.
  for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng() % i]);
}

Split split_indices(std::size_t count, std::size_t n_validation, std::uint64_t seed) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  vk::Rng rng(seed);
  shuffle_indices(order, rng);
  n_validation = std::min(n_validation, count);
  Split s;
  s.validation.assign(order.begin(), order.begin() + n_validation);
  s.train.assign(order.begin() + n_validation, order.end());
  std::sort(s.validation.begin(), s.validation.end());
  std::sort(s.train.begin(), s.train.end());
  return s;
}

ImageSet subset(const ImageSet& set, std::span<const std::size_t> indices) {
  ImageSet out;
  out.height = set.height;
  out.width = set.width;
  out.channels = set.channels;
  out.classes = set.classes;
  out.count = indices.size();
  out.pixels.resize(out.count * set.dim());
  out.labels.resize(out.count);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    std::span<const std::uint8_t> img = set.image(indices[k]);
    std::copy(img.begin(), img.end(), out.pixels.begin() + k * set.dim());
    out.labels[k] = set.labels[indices[k]];
  }
  return out;
}

std::pair<ImageSet, ImageSet> split_validation(const ImageSet& set, std::size_t n_validation, std::uint64_t seed) {
  if (n_validation >= set.count)
    throw DataError(fmt::format("split_validation: {} validation images requested from a set of {}", n_validation,
                                set.count));
  Split s = split_indices(set.count, n_validation, seed);
  return {subset(set, s.train), subset(set, s.validation)};
}

ImageSet take_first(const ImageSet& set, std::size_t n) {
  std::vector<std::size_t> first(std::min(n, set.count));
  std::iota(first.begin(), first.end(), 0);
  return subset(set, first);
}

void binarize_static(ImageSet& set, std::uint64_t seed) {
  const std::size_t dim = set.dim();
  for (std::size_t i = 0; i < set.count; ++i) {
    std::uint64_t key = static_row_key(seed, i);
    std::uint8_t* p = set.pixels.data() + i * dim;
    for (std::size_t j = 0; j < dim; ++j) p[j] = static_draw(key, j) < bernoulli_threshold(p[j]) ? 255 : 0;
  }
}

std::vector<std::size_t> class_counts(const ImageSet& set) {
  std::vector<std::size_t> counts(set.classes, 0);
  for (std::uint8_t l : set.labels)
    if (l < set.classes) ++counts[l];
  return counts;
}

}  // namespace vk::data
