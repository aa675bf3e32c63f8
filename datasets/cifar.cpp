#include "datasets/cifar.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

namespace vk::data {

ImageSet read_cifar_batch(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open: " + std::string(std::strerror(errno)));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(file, "read failed");
  if (bytes.empty() || bytes.size() % kCifarRecord != 0)
    fail(file, fmt::format("{} bytes is not a whole number of {}-byte records (a label byte, then 32x32 red, "
                           "green and blue bytes)", bytes.size(), kCifarRecord));
  constexpr std::size_t plane = kCifarSide * kCifarSide;
  ImageSet set;
  set.count = bytes.size() / kCifarRecord;
  set.height = set.width = kCifarSide;
  set.channels = 3;
  set.classes = cifar10_classes.size();
  set.labels.resize(set.count);
  set.pixels.resize(set.count * set.dim());
  for (std::size_t r = 0; r < set.count; ++r) {
    const auto* record = reinterpret_cast<const std::uint8_t*>(bytes.data()) + r * kCifarRecord;
    if (record[0] >= set.classes)
      fail(file, fmt::format("label {} of record {} (offset {}) is out of range (CIFAR-10 has 10 classes)", record[0],
                             r, r * kCifarRecord));
    set.labels[r] = record[0];
    // Plane by plane in the file, channels last in a row.
    std::uint8_t* image = set.pixels.data() + r * set.dim();
    for (std::size_t p = 0; p < plane; ++p)
      for (std::size_t c = 0; c < 3; ++c) image[3 * p + c] = record[1 + c * plane + p];
  }
  return set;
}

Dataset load_cifar_folder(const std::filesystem::path& dir) {
  auto batch = [&](const std::string& name) {
    const std::filesystem::path file = dir / name;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
      fail(file, "missing: a CIFAR-10 folder holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin");
    return read_cifar_batch(file);
  };
  Dataset d;
  d.form = "cifar10";
  d.train = batch("data_batch_1.bin");
  for (int i = 2; i <= 5; ++i) {
    const ImageSet more = batch(fmt::format("data_batch_{}.bin", i));
    d.train.pixels.insert(d.train.pixels.end(), more.pixels.begin(), more.pixels.end());
    d.train.labels.insert(d.train.labels.end(), more.labels.begin(), more.labels.end());
    d.train.count += more.count;
  }
  d.test = batch("test_batch.bin");
  d.class_names.assign(cifar10_classes.begin(), cifar10_classes.end());
  return d;
}

}  // namespace vk::data
