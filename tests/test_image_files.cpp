// The image forms --data reads beside MNIST's IDX: NumPy arrays (one file, or a folder of train and
// test arrays) and CIFAR-10's binary batches; what each gives, and a one-line error naming the file
// for every kind of broken input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/cifar.hpp"
#include "datasets/load.hpp"
#include "datasets/npy_images.hpp"
#include "tests/checkpoint_fixtures.hpp"
#include "tests/patterns.hpp"

namespace fs = std::filesystem;
using namespace vk::data;
using vk::test::Bytes;
using vk::test::check_error;
using vk::test::make_npy;
using vk::test::pattern_pixels;
using vk::test::TempDir;

namespace {

std::string shape_tuple(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t d : shape) s += std::to_string(d) + ", ";
  return s + ")";
}

// An .npy file of dtype `descr` holding `data` (its raw little-endian bytes).
template <class T>
void write_array(const fs::path& file, const std::string& descr, const std::vector<std::size_t>& shape,
                 const std::vector<T>& data) {
  std::string bytes(data.size() * sizeof(T), '\0');
  if (!data.empty()) std::memcpy(bytes.data(), data.data(), bytes.size());
  std::ofstream(file, std::ios::binary)
      << make_npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }", bytes);
}

void write_bytes(const fs::path& file, const Bytes& b) {
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// n CIFAR-10 records: label i % 10, channel c of pixel p is (i + 7 c + p) % 256.
Bytes cifar_records(std::size_t n) {
  Bytes b;
  for (std::size_t i = 0; i < n; ++i) {
    b.push_back(std::uint8_t(i % 10));
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t p = 0; p < kCifarSide * kCifarSide; ++p) b.push_back(std::uint8_t((i + 7 * c + p) % 256));
  }
  return b;
}

}  // namespace

TEST_CASE("npy images: bytes grey and RGB, floats rounded to 256 levels, channels last as stored") {
  TempDir dir;
  const Bytes grey = pattern_pixels(4, 6);
  write_array(dir / "grey.npy", "|u1", {4, 2, 3}, grey);
  ImageSet g = read_npy_images(dir / "grey.npy");
  CHECK(g.count == 4);
  CHECK(g.shape() == vk::image(1, 2, 3));
  CHECK(g.pixels == grey);
  CHECK(g.labels == Bytes(4, 0));
  CHECK(g.classes == 1);

  const Bytes rgb = pattern_pixels(2, 2 * 5 * 3);
  write_array(dir / "rgb.npy", "|u1", {2, 2, 5, 3}, rgb);
  ImageSet c = read_npy_images(dir / "rgb.npy");
  CHECK(c.shape() == vk::image(3, 2, 5));
  CHECK(c.pixels == rgb);

  // Every byte v as v / 255 in float32 and float64 comes back as v.
  std::vector<float> f32;
  std::vector<double> f64;
  for (int v = 0; v < 256; ++v) {
    f32.push_back(float(v) / 255.f);
    f64.push_back(double(v) / 255.0);
  }
  write_array(dir / "f32.npy", "<f4", {4, 8, 8, 1}, f32);
  write_array(dir / "f64.npy", "<f8", {4, 8, 8}, f64);
  Bytes all(256);
  for (int v = 0; v < 256; ++v) all[std::size_t(v)] = std::uint8_t(v);
  CHECK(read_npy_images(dir / "f32.npy").pixels == all);
  CHECK(read_npy_images(dir / "f64.npy").pixels == all);
}

TEST_CASE("npy images and labels: every broken array is one line naming the file") {
  TempDir dir;
  const fs::path f = dir / "x.npy";
  write_array(f, "<i4", {2, 2, 2}, std::vector<std::int32_t>(8, 1));
  check_error([&] { read_npy_images(f); }, f, "unsupported dtype '<i4' (expected '|u1', '<f4' or '<f8')");
  write_array(f, "|u1", {4, 9}, Bytes(36, 0));
  check_error([&] { read_npy_images(f); }, f, "images are [N, H, W] or [N, H, W, C]; this array is (4, 9)");
  write_array(f, "|u1", {2, 3, 3, 2}, Bytes(36, 0));
  check_error([&] { read_npy_images(f); }, f, "1 (grey) or 3 (RGB) channels, not 2");
  write_array(f, "|u1", {0, 3, 3}, Bytes{});
  check_error([&] { read_npy_images(f); }, f, "holds no pixels");
  write_array(f, "<f4", {1, 2, 2}, std::vector<float>{0.f, 0.5f, 1.5f, 1.f});
  check_error([&] { read_npy_images(f); }, f, "value 1.5 at element 2 is outside [0, 1]");
  write_array(f, "<f4", {1, 2, 2}, std::vector<float>{0.f, NAN, 1.f, 1.f});
  check_error([&] { read_npy_images(f); }, f, "at element 1 is outside [0, 1]");
  write_bytes(f, Bytes{1, 2, 3});
  check_error([&] { read_npy_images(f); }, f, "bad magic");

  const fs::path l = dir / "labels.npy";
  write_array(l, "<i8", {3}, std::vector<std::int64_t>{2, 0, 7});
  CHECK(read_npy_labels(l, 3) == Bytes{2, 0, 7});
  write_array(l, "|u1", {3, 1}, Bytes{4, 5, 6});
  CHECK(read_npy_labels(l, 3) == Bytes{4, 5, 6});
  check_error([&] { read_npy_labels(l, 4); }, l, "3 labels for 4 images");
  write_array(l, "<i2", {3}, std::vector<std::int16_t>{1, -1, 2});
  check_error([&] { read_npy_labels(l, 3); }, l, "label -1 at index 1 is out of range (0 to 255)");
  write_array(l, "<u4", {2}, std::vector<std::uint32_t>{256, 1});
  check_error([&] { read_npy_labels(l, 2); }, l, "label 256 at index 0 is out of range");
  write_array(l, "<f4", {2}, std::vector<float>{1, 2});
  check_error([&] { read_npy_labels(l, 2); }, l, "unsupported dtype '<f4'");
  write_array(l, "|u1", {2, 2}, Bytes{1, 2, 3, 4});
  check_error([&] { read_npy_labels(l, 2); }, l, "labels are [N] or [N, 1]; this array is (2, 2)");
}

TEST_CASE("load_dataset: one .npy file holds out its last seventh, labels beside it") {
  TempDir dir;
  const Bytes pixels = pattern_pixels(15, 4);
  write_array(dir / "faces.npy", "|u1", {15, 2, 2}, pixels);
  Dataset d = load_dataset(dir / "faces.npy");
  CHECK(d.form == "npy");
  CHECK(d.train.count == 13);
  CHECK(d.test.count == 2);
  CHECK(d.test.image(0)[0] == 13);  // pattern_pixels: the first byte is the index
  CHECK(d.train.classes == 1);
  CHECK(d.class_names == std::vector<std::string>{"0"});

  Bytes labels(15);
  for (std::size_t i = 0; i < 15; ++i) labels[i] = std::uint8_t(i % 4);
  write_array(dir / "faces_labels.npy", "|u1", {15}, labels);
  d = load_dataset(dir / "faces.npy");
  CHECK(d.train.classes == 4);
  CHECK(d.test.classes == 4);
  CHECK(d.test.labels == Bytes{1, 2});
  CHECK(labels_beside(dir / "cats_images.npy") == dir / "cats_labels.npy");

  write_array(dir / "one.npy", "|u1", {1, 2, 2}, Bytes(4, 0));
  check_error([&] { load_dataset(dir / "one.npy"); }, dir / "one.npy", "two or more");
  write_bytes(dir / "data.txt", Bytes{1});
  check_error([&] { load_dataset(dir / "data.txt"); }, dir / "data.txt", "--data takes an .npy file or a folder");
  check_error([&] { load_dataset(dir / "nowhere"); }, dir / "nowhere", "does not exist");
}

TEST_CASE("load_dataset: a folder of train and test arrays, their labels both or neither") {
  TempDir dir;
  write_array(dir / "train_images.npy", "|u1", {6, 2, 2, 3}, pattern_pixels(6, 12));
  check_error([&] { load_dataset(dir.path); }, dir / "test_images.npy", "missing");
  write_array(dir / "test_images.npy", "|u1", {3, 2, 2, 1}, pattern_pixels(3, 4));
  check_error([&] { load_dataset(dir.path); }, dir / "test_images.npy",
              "test images are 2x2x1 but training images are 2x2x3");
  write_array(dir / "test_images.npy", "|u1", {3, 2, 2, 3}, pattern_pixels(3, 12));
  Dataset d = load_dataset(dir.path);
  CHECK(d.form == "npy-folder");
  CHECK(d.train.count == 6);
  CHECK(d.test.count == 3);
  CHECK(d.test.shape() == vk::image(3, 2, 2));

  write_array(dir / "train_labels.npy", "<i8", {6}, std::vector<std::int64_t>{0, 1, 2, 3, 4, 9});
  check_error([&] { load_dataset(dir.path); }, dir.path, "labels for one set only");
  write_array(dir / "test_labels.npy", "<i8", {2}, std::vector<std::int64_t>{0, 1});
  check_error([&] { load_dataset(dir.path); }, dir / "test_labels.npy", "2 labels for 3 images");
  write_array(dir / "test_labels.npy", "<i8", {3}, std::vector<std::int64_t>{0, 1, 5});
  d = load_dataset(dir.path);
  CHECK(d.train.classes == 10);
  CHECK(d.class_names.size() == 10);
}

TEST_CASE("CIFAR-10 batches: planes become channels last; sizes and labels checked") {
  TempDir dir;
  const Bytes records = cifar_records(3);
  write_bytes(dir / "b.bin", records);
  const ImageSet s = read_cifar_batch(dir / "b.bin");
  CHECK(s.count == 3);
  CHECK(s.shape() == vk::image(3, 32, 32));
  CHECK(s.labels == Bytes{0, 1, 2});
  bool same = true;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t p = 0; p < 1024; ++p)
      for (std::size_t c = 0; c < 3; ++c) same = same && s.image(i)[3 * p + c] == std::uint8_t((i + 7 * c + p) % 256);
  CHECK(same);

  write_bytes(dir / "short.bin", Bytes(records.begin(), records.end() - 1));
  check_error([&] { read_cifar_batch(dir / "short.bin"); }, dir / "short.bin",
              "9218 bytes is not a whole number of 3073-byte records");
  write_bytes(dir / "empty.bin", Bytes{});
  check_error([&] { read_cifar_batch(dir / "empty.bin"); }, dir / "empty.bin", "0 bytes is not a whole number");
  Bytes bad = records;
  bad[2 * kCifarRecord] = 10;
  write_bytes(dir / "label.bin", bad);
  check_error([&] { read_cifar_batch(dir / "label.bin"); }, dir / "label.bin",
              "label 10 of record 2 (offset 6146) is out of range");

  TempDir folder;
  for (int b = 1; b <= 5; ++b) write_bytes(folder / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(b));
  check_error([&] { load_dataset(folder.path); }, folder / "test_batch.bin", "missing");
  write_bytes(folder / "test_batch.bin", cifar_records(2));
  const Dataset d = load_dataset(folder.path);
  CHECK(d.form == "cifar10");
  CHECK(d.train.count == 1 + 2 + 3 + 4 + 5);
  CHECK(d.train.labels[1] == 0);  // the first record of data_batch_2.bin
  CHECK(d.test.count == 2);
  CHECK(d.class_names[9] == "truck");
}
