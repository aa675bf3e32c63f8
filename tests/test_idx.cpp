// IDX files and MNIST-layout folders: raw and gzip round trips, and a one-line error naming the
// file for every kind of broken input.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/files.hpp"
#include "tests/patterns.hpp"
#include "datasets/mnist.hpp"
#include "io/idx.hpp"

namespace fs = std::filesystem;
using namespace vk::data;
using vk::test::Bytes;
using vk::test::pattern_labels;
using vk::test::pattern_pixels;

namespace {

using vk::test::check_error;
using vk::test::io_error_of;
using vk::test::TempDir;

void write_file(const fs::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

void write_gz(const fs::path& p, const Bytes& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!b.empty()) REQUIRE(gzwrite(f, b.data(), unsigned(b.size())) == int(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Bytes idx_header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes b = {0, 0, type, std::uint8_t(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(d >> s));
  return b;
}

Bytes idx_file(const std::vector<std::uint32_t>& dims, const Bytes& payload, std::uint8_t type = 0x08) {
  Bytes b = idx_header(type, dims);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

}  // namespace

TEST_CASE("idx: raw and gzip round trip give identical bytes") {
  TempDir dir;
  const std::size_t n = 7, rows = 3, cols = 5;
  Bytes pixels = pattern_pixels(n, rows * cols), labels = pattern_labels(n);
  Bytes img = idx_file({n, rows, cols}, pixels), lab = idx_file({n}, labels);
  write_file(dir / "img", img);
  write_file(dir / "lab", lab);
  write_gz(dir / "img.gz", img);
  write_gz(dir / "lab.gz", lab);
  write_gz(dir / "img-gz-without-suffix", img);  // content decides, not the name
  REQUIRE(is_gzip_file(dir / "img.gz"));
  REQUIRE_FALSE(is_gzip_file(dir / "img"));

  for (auto [i, l] : {std::pair{"img", "lab"}, {"img.gz", "lab.gz"}, {"img-gz-without-suffix", "lab"}}) {
    CAPTURE(i);
    ImageSet s = read_idx_pair(dir / i, dir / l);
    CHECK(s.count == n);
    CHECK(s.height == rows);
    CHECK(s.width == cols);
    CHECK(s.dim() == rows * cols);
    CHECK(s.pixels == pixels);
    CHECK(s.labels == labels);
  }
  IdxArray a = read_idx(dir / "img.gz", 3);
  CHECK(a.dims == std::vector<std::size_t>{n, rows, cols});
}

TEST_CASE("idx: a raw file named .gz is read raw") {
  TempDir dir;
  write_file(dir / "lab.gz", idx_file({3}, {1, 2, 3}));
  CHECK(read_idx(dir / "lab.gz", 1).data == Bytes{1, 2, 3});
}

TEST_CASE("idx: a gzip file of several members (cat a.gz b.gz) is read whole") {
  TempDir dir;
  Bytes lab = idx_file({6}, {1, 2, 3, 4, 5, 6});
  write_gz(dir / "a.gz", Bytes(lab.begin(), lab.begin() + 7));
  write_gz(dir / "b.gz", Bytes(lab.begin() + 7, lab.end()));
  Bytes both = read_file(dir / "a.gz"), b = read_file(dir / "b.gz");
  both.insert(both.end(), b.begin(), b.end());
  write_file(dir / "ab.gz", both);
  CHECK(read_idx(dir / "ab.gz", 1).data == Bytes{1, 2, 3, 4, 5, 6});
}

TEST_CASE("idx: broken input gives one DataError line naming the file") {
  TempDir dir;
  const Bytes pixels = pattern_pixels(5, 16);
  const Bytes good_images = idx_file({5, 4, 4}, pixels), good_labels = idx_file({5}, pattern_labels(5));
  write_file(dir / "images", good_images);
  write_file(dir / "labels", good_labels);
  auto images = [&](const fs::path& p) { return [p] { read_idx(p, 3); }; };
  auto labels = [&](const fs::path& p) { return [p] { read_idx(p, 1); }; };

  SUBCASE("missing file") { check_error(images(dir / "absent"), dir / "absent", "cannot open"); }
  SUBCASE("a directory") {
    fs::create_directory(dir / "sub");
    check_error(images(dir / "sub"), dir / "sub", "directory");
  }
  SUBCASE("empty file") {
    write_file(dir / "empty", {});
    check_error(images(dir / "empty"), dir / "empty", "empty file");
    write_gz(dir / "empty.gz", {});
    check_error(images(dir / "empty.gz"), dir / "empty.gz", "empty");
  }
  SUBCASE("wrong magic") {
    write_file(dir / "text", Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'});
    check_error(images(dir / "text"), dir / "text", "not an IDX file");
  }
  SUBCASE("images file where a labels file is expected") {
    check_error([&] { read_idx_pair(dir / "images", dir / "images"); }, dir / "images", "expected a labels file");
    check_error(labels(dir / "images"), dir / "images", "3 dimensions");
    check_error(images(dir / "labels"), dir / "labels", "expected an images file");
  }
  SUBCASE("truncated header") {
    write_file(dir / "short", Bytes(good_images.begin(), good_images.begin() + 10));
    check_error(images(dir / "short"), dir / "short", "truncated header");
    write_file(dir / "tiny", Bytes{0, 0});
    check_error(images(dir / "tiny"), dir / "tiny", "truncated header");
  }
  SUBCASE("truncated pixel data") {
    write_file(dir / "cut", Bytes(good_images.begin(), good_images.end() - 10));
    check_error(images(dir / "cut"), dir / "cut", "truncated pixel data: header says 5 images of 4x4 (80 bytes)");
    check_error(images(dir / "cut"), dir / "cut", "has 70");
  }
  SUBCASE("header dimensions that overflow") {
    write_file(dir / "overflow", idx_file({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, pixels));
    check_error(images(dir / "overflow"), dir / "overflow", "overflow");
  }
  SUBCASE("a huge claimed size is rejected without allocating it") {
    write_file(dir / "huge", idx_file({0xFFFFFFFF, 0xFFFF, 0xFFFF}, pixels));
    check_error(images(dir / "huge"), dir / "huge", "truncated pixel data");
    write_gz(dir / "huge.gz", idx_file({0xFFFFFFFF, 0xFFFF, 0xFFFF}, pixels));
    check_error(images(dir / "huge.gz"), dir / "huge.gz", "truncated pixel data");
    write_gz(dir / "big.gz", idx_file({60000, 28, 28}, pixels));
    check_error(images(dir / "big.gz"), dir / "big.gz", "truncated pixel data");
  }
  SUBCASE("trailing extra bytes") {
    Bytes longer = good_images;
    longer.push_back(7);
    write_file(dir / "long", longer);
    check_error(images(dir / "long"), dir / "long", "trailing bytes");
    write_gz(dir / "long.gz", longer);
    check_error(images(dir / "long.gz"), dir / "long.gz", "trailing bytes");
  }
  SUBCASE("count 0") {
    write_file(dir / "none", idx_file({0, 28, 28}, {}));
    check_error(images(dir / "none"), dir / "none", "count of 0");
    write_file(dir / "flat", idx_file({3, 0, 28}, {}));
    check_error(images(dir / "flat"), dir / "flat", "zero-sized");
  }
  SUBCASE("label count different from image count") {
    write_file(dir / "labels4", idx_file({4}, {1, 2, 3, 4}));
    check_error([&] { read_idx_pair(dir / "images", dir / "labels4"); }, dir / "labels4", "4 labels but");
  }
  SUBCASE("label out of range") {
    write_file(dir / "labels10", idx_file({5}, {1, 2, 10, 4, 5}));
    check_error([&] { read_idx_pair(dir / "images", dir / "labels10"); }, dir / "labels10",
                "label 10 at index 2 is out of range");
  }
  SUBCASE("a file named .gz that is not gzip") {
    write_file(dir / "fake.gz", Bytes{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    check_error(images(dir / "fake.gz"), dir / "fake.gz", "not gzip");
    check_error(images(dir / "fake.gz"), dir / "fake.gz", "50 4b 03 04");
  }
  SUBCASE("corrupt gzip stream") {
    Bytes bad = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    bad.insert(bad.end(), 64, 0xFF);
    write_file(dir / "bad.gz", bad);
    check_error(images(dir / "bad.gz"), dir / "bad.gz", "corrupt gzip stream");
    // A flipped bit in the stored CRC: the data are intact but the checksum fails.
    write_gz(dir / "crc.gz", good_images);
    Bytes crc = read_file(dir / "crc.gz");
    crc[crc.size() - 8] ^= 1;
    write_file(dir / "crc.gz", crc);
    check_error(images(dir / "crc.gz"), dir / "crc.gz", "corrupt gzip stream");
  }
  SUBCASE("gzip stream cut off") {
    write_gz(dir / "whole.gz", good_images);
    Bytes gz = read_file(dir / "whole.gz");
    write_file(dir / "half.gz", Bytes(gz.begin(), gz.begin() + gz.size() / 2));
    check_error(images(dir / "half.gz"), dir / "half.gz", "truncated");
    write_file(dir / "notrailer.gz", Bytes(gz.begin(), gz.end() - 8));
    check_error(images(dir / "notrailer.gz"), dir / "notrailer.gz", "truncated gzip stream");
  }
  SUBCASE("element type other than unsigned byte") {
    write_file(dir / "floats", idx_file({5, 4, 4}, pixels, 0x0D));
    check_error(images(dir / "floats"), dir / "floats", "element type 0x0d (float)");
  }
}

TEST_CASE("mnist folder: name or name.gz, missing files named") {
  TempDir dir;
  const std::size_t n = 12;
  write_gz(dir / "train-images-idx3-ubyte.gz", idx_file({n, 2, 3}, pattern_pixels(n, 6)));
  write_file(dir / "train-labels-idx1-ubyte", idx_file({n}, pattern_labels(n)));
  write_file(dir / "t10k-images-idx3-ubyte", idx_file({3, 2, 3}, pattern_pixels(3, 6)));
  check_error([&] { load_mnist_folder(dir.path); }, dir / "t10k-labels-idx1-ubyte", "missing");
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_file({3}, {0, 9, 5}));
  Dataset d = load_mnist_folder(dir.path);
  CHECK(d.train.count == n);
  CHECK(d.test.count == 3);
  CHECK(d.test.labels == Bytes{0, 9, 5});
  CHECK(d.class_names == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  CHECK(class_names_for("/data/Fashion-MNIST")[0] == "T-shirt/top");
  check_error([&] { load_mnist_folder(dir / "nowhere"); }, dir / "nowhere", "does not exist");
}

TEST_CASE("fashion-mnist: 60000 train, 1000 test images of each class, 28x28") {
  if (!fs::exists(default_data_dir)) {
    MESSAGE("skipped: ", default_data_dir, " does not exist");
    return;
  }
  Dataset d = load_mnist_folder();
  CHECK(d.train.count == 60000);
  CHECK(d.test.count == 10000);
  CHECK(d.train.height == 28);
  CHECK(d.train.width == 28);
  CHECK(d.train.pixels.size() == 60000u * 784u);
  CHECK(class_counts(d.test) == std::vector<std::size_t>(10, 1000));
  CHECK(class_counts(d.train) == std::vector<std::size_t>(10, 6000));
  REQUIRE(d.class_names.size() == 10);
  CHECK(d.class_names[0] == "T-shirt/top");
  CHECK(d.class_names[9] == "Ankle boot");
  // Fashion-MNIST images have a black background and bright objects: pixel 0 is rarely lit.
  std::size_t lit = 0;
  for (std::size_t i = 0; i < d.test.count; ++i) lit += d.test.image(i)[0] > 128;
  CHECK(lit < 100);
}
