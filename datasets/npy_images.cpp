#include "datasets/npy_images.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/npy.hpp"

namespace vk::data {

namespace {

template <class F>
void each_float(const NpyBytes& a, F f) {
  for (std::size_t i = 0, n = a.count(); i < n; ++i) {
    if (a.item_size == 4) {
      float v;
      std::memcpy(&v, a.data() + 4 * i, 4);
      f(i, double(v));
    } else {
      double v;
      std::memcpy(&v, a.data() + 8 * i, 8);
      f(i, v);
    }
  }
}

// A little-endian integer of `size` bytes at p, signed or not, widened.
long long integer_at(const char* p, std::size_t size, bool is_signed) {
  unsigned long long u = 0;
  std::memcpy(&u, p, size);  // little-endian host (io/npy.cpp asserts it)
  if (is_signed && size < 8 && (u >> (8 * size - 1) & 1)) u |= ~0ull << (8 * size);
  return static_cast<long long>(u);
}

// Every set of a data set has the classes of the largest label of any + 1; names as the MNIST
// folders of that path get for 10 classes (Fashion-MNIST's in a folder named so), else numbers.
void name_classes(Dataset& d, const std::filesystem::path& path) {
  std::size_t classes = 1;
  for (const ImageSet* s : {&d.train, &d.test})
    for (std::uint8_t l : s->labels) classes = std::max(classes, std::size_t(l) + 1);
  d.train.classes = d.test.classes = classes;
  if (classes == 10) {
    d.class_names = class_names_for(path);
    return;
  }
  d.class_names.clear();
  for (std::size_t c = 0; c < classes; ++c) d.class_names.push_back(std::to_string(c));
}

void add_labels(ImageSet& set, const std::filesystem::path& images) {
  const std::filesystem::path labels = labels_beside(images);
  std::error_code ec;
  if (std::filesystem::exists(labels, ec)) set.labels = read_npy_labels(labels, set.count);
}

}  // namespace

ImageSet read_npy_images(const std::filesystem::path& file) {
  static constexpr std::string_view kDtypes[] = {"|u1", "<f4", "<f8"};
  const NpyBytes a = read_npy_bytes(file, kDtypes);
  const std::vector<std::size_t>& s = a.shape;
  if (s.size() != 3 && s.size() != 4)
    fail(file, fmt::format("images are [N, H, W] or [N, H, W, C]; this array is ({})", fmt::join(s, ", ")));
  if (std::find(s.begin(), s.end(), std::size_t(0)) != s.end())
    fail(file, fmt::format("the array ({}) holds no pixels", fmt::join(s, ", ")));
  ImageSet set;
  set.count = s[0];
  set.height = s[1];
  set.width = s[2];
  set.channels = s.size() == 4 ? s[3] : 1;
  if (set.channels != 1 && set.channels != 3)
    fail(file, fmt::format("images have 1 (grey) or 3 (RGB) channels, not {}", set.channels));
  set.classes = 1;
  set.labels.assign(set.count, 0);
  set.pixels.resize(a.count());
  if (a.item_size == 1) {
    std::memcpy(set.pixels.data(), a.data(), a.count());
    return set;
  }
  each_float(a, [&](std::size_t i, double v) {
    if (!(v >= 0 && v <= 1)) fail(file, fmt::format("value {} at element {} is outside [0, 1]", v, i));
    set.pixels[i] = std::uint8_t(std::lround(v * 255));
  });
  return set;
}

std::vector<std::uint8_t> read_npy_labels(const std::filesystem::path& file, std::size_t count) {
  static constexpr std::string_view kDtypes[] = {"|u1", "|i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8"};
  const NpyBytes a = read_npy_bytes(file, kDtypes);
  const std::vector<std::size_t>& s = a.shape;
  if (s.empty() || s.size() > 2 || (s.size() == 2 && s[1] != 1))
    fail(file, fmt::format("labels are [N] or [N, 1]; this array is ({})", fmt::join(s, ", ")));
  if (s[0] != count) fail(file, fmt::format("{} labels for {} images", s[0], count));
  const bool is_signed = a.descr[1] == 'i';
  std::vector<std::uint8_t> labels(count);
  for (std::size_t i = 0; i < count; ++i) {
    const long long v = integer_at(a.data() + i * a.item_size, a.item_size, is_signed);
    // An unsigned 8-byte label above 2^63 reads negative: out of range either way.
    if (v < 0 || v > 255) fail(file, fmt::format("label {} at index {} is out of range (0 to 255)", v, i));
    labels[i] = std::uint8_t(v);
  }
  return labels;
}

std::filesystem::path labels_beside(const std::filesystem::path& images) {
  std::string stem = images.stem().string();
  constexpr std::string_view kSuffix = "_images";
  if (stem.size() > kSuffix.size() && stem.ends_with(kSuffix)) stem.resize(stem.size() - kSuffix.size());
  return images.parent_path() / (stem + "_labels.npy");
}

Dataset load_npy_file(const std::filesystem::path& file) {
  ImageSet all = read_npy_images(file);
  add_labels(all, file);
  if (all.count < 2) fail(file, "one image: a single array needs two or more (its last seventh is the test set)");
  const std::size_t n_test = std::max<std::size_t>(1, all.count / 7);
  std::vector<std::size_t> train(all.count - n_test), test(n_test);
  for (std::size_t i = 0; i < all.count; ++i) (i < train.size() ? train[i] : test[i - train.size()]) = i;
  Dataset d{subset(all, train), subset(all, test), {}, "npy"};
  name_classes(d, file);
  return d;
}

Dataset load_npy_folder(const std::filesystem::path& dir) {
  Dataset d;
  d.form = "npy-folder";
  const std::filesystem::path train = dir / "train_images.npy", test = dir / "test_images.npy";
  std::error_code ec;
  if (!std::filesystem::exists(test, ec)) fail(test, "missing: a folder of arrays holds train_images.npy and test_images.npy");
  d.train = read_npy_images(train);
  add_labels(d.train, train);
  d.test = read_npy_images(test);
  add_labels(d.test, test);
  if (std::filesystem::exists(labels_beside(train), ec) != std::filesystem::exists(labels_beside(test), ec))
    fail(dir, "labels for one set only: train_labels.npy and test_labels.npy come together or not at all");
  require_same_shape(d, test);
  name_classes(d, dir);
  return d;
}

}  // namespace vk::data
