// The drawing that needs no model: PNG files, the font, image grids and plots.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <png.h>

#include "tests/files.hpp"
#include "experiments/draw/font.hpp"
#include "experiments/draw/image.hpp"
#include "experiments/draw/plots.hpp"
#include "experiments/draw/png.hpp"

namespace vk::support {
// So that failed checks print colours.
std::ostream& operator<<(std::ostream& os, Rgb c) {
  return os << "rgb(" << int(c.r) << ", " << int(c.g) << ", " << int(c.b) << ")";
}
}  // namespace vk::support

namespace fs = std::filesystem;
namespace sp = vk::support;

namespace {

using vk::test::contains;
using vk::test::io_error_of;
using vk::test::read_text;
using vk::test::TempDir;

struct DecodedPng {
  png_uint_32 width = 0, height = 0, stored_format = 0;
  std::vector<std::uint8_t> pixels;
};

// Decodes with libpng, converting to the requested format.
DecodedPng read_png(const fs::path& p, png_uint_32 format) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_file(&image, p.c_str()) != 0);
  DecodedPng out{image.width, image.height, image.format, {}};
  image.format = format;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  REQUIRE(png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr) != 0);
  return out;
}

std::size_t count_of(const sp::Image& img, sp::Rgb c) {
  std::size_t n = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) n += img.pixel(x, y) == c;
  return n;
}

}  // namespace

TEST_CASE("PNG files read back with libpng with the same size and pixels") {
  TempDir tmp;
  const std::uint8_t gray[6] = {0, 50, 100, 150, 200, 255};  // 3 wide, 2 high
  sp::write_png_gray(tmp.path / "g.png", gray, 3, 2);
  CHECK(read_text(tmp.path / "g.png").substr(0, 8) == "\x89PNG\r\n\x1a\n");
  DecodedPng g = read_png(tmp.path / "g.png", PNG_FORMAT_GRAY);
  CHECK(g.width == 3);
  CHECK(g.height == 2);
  CHECK(g.stored_format == PNG_FORMAT_GRAY);
  CHECK(g.pixels == std::vector<std::uint8_t>(gray, gray + 6));

  sp::Image img(4, 3, sp::kBlack);
  img.set_pixel(0, 0, {255, 0, 0});
  img.set_pixel(3, 2, {1, 2, 3});
  img.set_pixel(9, 9, {7, 7, 7});  // outside: clipped, not a crash
  sp::write_png(tmp.path / "c.png", img);
  DecodedPng c = read_png(tmp.path / "c.png", PNG_FORMAT_RGB);
  CHECK(c.width == 4);
  CHECK(c.height == 3);
  CHECK(c.stored_format == PNG_FORMAT_RGB);
  REQUIRE(c.pixels.size() == 4 * 3 * 3);
  CHECK(c.pixels[0] == 255);
  CHECK(c.pixels[1] == 0);
  CHECK(c.pixels[3] == 0);
  CHECK(c.pixels[(2 * 4 + 3) * 3 + 2] == 3);
  CHECK(std::memcmp(c.pixels.data(), img.data(), c.pixels.size()) == 0);

  // Replacing a file goes through a temporary that does not stay behind.
  sp::write_png_gray(tmp.path / "g.png", gray + 3, 3, 1);
  CHECK(read_png(tmp.path / "g.png", PNG_FORMAT_GRAY).height == 1);
  CHECK(tmp.names() == std::set<std::string>{"c.png", "g.png"});

  std::string e = io_error_of([&] { sp::write_png_gray(tmp.path / "no" / "x.png", gray, 3, 2); });
  CHECK(contains(e, (tmp.path / "no" / "x.png").string()));
}

TEST_CASE("encode_png gives the bytes write_png writes") {
  TempDir tmp;
  sp::Image img(5, 3, sp::kWhite);
  img.set_pixel(2, 1, {10, 20, 30});
  sp::write_png(tmp / "a.png", img);
  const std::vector<std::uint8_t> bytes = sp::encode_png(img);
  CHECK(read_text(tmp / "a.png") == std::string(bytes.begin(), bytes.end()));
  CHECK(read_png(tmp / "a.png", PNG_FORMAT_RGB).pixels[(1 * 5 + 2) * 3 + 1] == 20);
}

TEST_CASE("the font has a distinct, non-empty glyph for every printable character") {
  std::set<sp::Glyph> seen;
  for (char c = 33; c < 127; ++c) {
    const sp::Glyph& g = sp::glyph(c);
    int ink = 0;
    for (auto row : g) {
      CHECK(row < (1 << sp::kGlyphWidth));
      ink += __builtin_popcount(row);
    }
    CHECK_MESSAGE(ink > 0, "glyph for '", c, "' is empty");
    CHECK_MESSAGE(seen.insert(g).second, "glyph for '", c, "' repeats another");
  }
  CHECK(sp::glyph(' ') == sp::Glyph{});
  CHECK(sp::glyph('\x01') == sp::glyph('?'));
  CHECK(sp::glyph(char(200)) == sp::glyph('?'));
}

TEST_CASE("draw_text inks the glyph pixels at the given scale") {
  sp::Image img(40, 20);
  sp::draw_text(img, 1, 2, "TL", sp::kBlack, 2);
  const sp::Glyph& t = sp::glyph('T');
  for (int r = 0; r < sp::kGlyphHeight; ++r)
    for (int c = 0; c < sp::kGlyphWidth; ++c) {
      const bool ink = t[std::size_t(r)] >> (sp::kGlyphWidth - 1 - c) & 1;
      const sp::Rgb want = ink ? sp::kBlack : sp::kWhite;
      CHECK(img.pixel(1 + 2 * c, 2 + 2 * r) == want);
      CHECK(img.pixel(2 + 2 * c, 3 + 2 * r) == want);
    }
  // 'L' starts one advance later: its vertical stroke is the first column.
  CHECK(img.pixel(1 + 2 * sp::kGlyphAdvance, 2) == sp::kBlack);
  CHECK(img.pixel(1 + 2 * sp::kGlyphAdvance - 1, 2) == sp::kWhite);
  CHECK(count_of(img, sp::kBlack) == 4u * (5 + 6 + 5 + 6));  // T: 5+6 pixels, L: 6+5

  CHECK(sp::text_width("AB") == 11);
  CHECK(sp::text_width("AB\nCDE", 2) == 34);
  CHECK(sp::text_height("x") == 7);
  CHECK(sp::text_height("x\ny", 3) == 48);
  CHECK(sp::text_width("") == 0);
}

TEST_CASE("image_grid places image i at its documented offset") {
  const std::size_t h = 2, w = 3, count = 5;
  std::vector<float> images(count * h * w);
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t k = 0; k < h * w; ++k) images[i * h * w + k] = float(i + 1) / 10.f;
  images[2 * h * w + 5] = 7.f;   // clamped to 1
  images[3 * h * w + 0] = -1.f;  // clamped to 0

  sp::Image grid = sp::image_grid(images.data(), count, vk::image(1, h, w), 2, 1);
  CHECK(grid.width() == 1 + 2 * (3 + 1));
  CHECK(grid.height() == 1 + 3 * (2 + 1));
  for (std::size_t i = 0; i < count; ++i) {
    const int x0 = 1 + int(i % 2) * 4, y0 = 1 + int(i / 2) * 3;
    const auto level = std::uint8_t(std::lround((i + 1) / 10.0 * 255));
    CHECK(grid.pixel(x0 + 1, y0) == sp::Rgb{level, level, level});
    CHECK(grid.pixel(x0 - 1, y0) == sp::kWhite);  // padding column to the left
  }
  CHECK(grid.pixel(1 + 2, 1 + 3 + 1) == sp::Rgb{255, 255, 255});  // image 2, last pixel
  CHECK(grid.pixel(1 + 4, 1 + 3) == sp::kBlack);                  // image 3, first pixel
  CHECK(grid.pixel(1 + 4, 1 + 2 * 3) == sp::kWhite);  // empty sixth cell stays background

  sp::Image big = sp::image_grid(images.data(), count, vk::image(1, h, w), 5, 0, 3);
  CHECK(big.width() == 5 * 3 * 3);
  CHECK(big.height() == 2 * 3);
  CHECK(big.pixel(3 * 3 * 4 + 2, 5) == sp::Rgb{128, 128, 128});  // image 4, scaled

  CHECK_THROWS_AS(sp::image_grid(images.data(), 0, vk::image(1, h, w), 2, 1), std::invalid_argument);
}

TEST_CASE("image_grid draws RGB tiles channels last, and non-square ones") {
  // Two 2x3 RGB images (height 2, width 3): pixel (r, c) of image i has red i, green r, blue c.
  const vk::Shape tile = vk::image(3, 2, 3);
  std::vector<float> images;
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) images.insert(images.end(), {float(i), float(r), c / 2.f});
  const sp::Image grid = sp::image_grid(images.data(), 2, tile, 2, 1);
  CHECK(grid.width() == 1 + 2 * (3 + 1));
  CHECK(grid.height() == 1 + (2 + 1));
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) {
        const auto blue = std::uint8_t(std::lround(c / 2.0 * 255));
        CHECK(grid.pixel(1 + i * 4 + c, 1 + r) == sp::Rgb{std::uint8_t(255 * i), std::uint8_t(255 * r), blue});
      }
  CHECK_THROWS_AS(sp::image_grid(images.data(), 1, vk::image(2, 2, 3), 1, 1), std::invalid_argument);
}

TEST_CASE("labelled_rows_grid writes each label left of its row") {
  const std::size_t rows = 2, per_row = 3, h = 28, w = 28;
  std::vector<float> images(rows * per_row * h * w, 0.5f);
  sp::Image img = sp::labelled_rows_grid(images.data(), rows, per_row, vk::image(1, h, w), {"zero", "sneaker"});
  const int label_w = img.width() - (2 + 3 * (28 + 2));
  CHECK(label_w >= sp::text_width("sneaker"));
  CHECK(img.height() == 2 + 2 * (28 + 2));
  // Each row's label area holds ink, the tiles sit to its right.
  for (int r = 0; r < 2; ++r) {
    int ink = 0;
    for (int y = 2 + r * 30; y < 2 + r * 30 + 28; ++y)
      for (int x = 0; x < label_w; ++x) ink += img.pixel(x, y) == sp::kBlack;
    CHECK(ink > 10);
  }
  CHECK(img.pixel(label_w + 2, 2) == sp::Rgb{128, 128, 128});
  CHECK(img.pixel(label_w + 1, 2) == sp::kWhite);
  CHECK_THROWS_AS(sp::labelled_rows_grid(images.data(), rows, per_row, vk::image(1, h, w), {"one"}),
                  std::invalid_argument);
}

TEST_CASE("scatter_plot colours points by class and draws a legend") {
  // Class 0 in the lower left, class 1 in the upper right, one non-finite point skipped.
  std::vector<float> xy;
  std::vector<std::uint8_t> labels;
  for (int i = 0; i < 50; ++i) {
    xy.insert(xy.end(), {-2.f + 0.01f * i, -1.f});
    labels.push_back(0);
    xy.insert(xy.end(), {3.f, 4.f - 0.01f * i});
    labels.push_back(1);
  }
  xy.insert(xy.end(), {NAN, 0.f});
  labels.push_back(2);
  sp::Image img = sp::scatter_plot(xy.data(), labels.size(), labels.data(), {"zero", "one"}, 200);
  CHECK(img.height() == 200);
  CHECK(img.width() > 200 + sp::text_width("zero"));

  // Where the class colours appear: class 0 left and low, class 1 right and high.
  auto centre = [&](sp::Rgb c, int max_x) {
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < max_x; ++x)
        if (img.pixel(x, y) == c) sx += x, sy += y, ++n;
    return std::array<double, 3>{sx / n, sy / n, n};
  };
  auto c0 = centre(sp::class_color(0), 200), c1 = centre(sp::class_color(1), 200);
  CHECK(c0[2] > 20);
  CHECK(c1[2] > 20);
  CHECK(c0[0] < c1[0]);
  CHECK(c0[1] > c1[1]);  // image y grows downwards
  CHECK(centre(sp::class_color(2), 200)[2] == 0);
  // Legend swatches to the right of the plot region.
  CHECK(centre(sp::class_color(0), img.width())[2] > c0[2]);
  CHECK(centre(sp::class_color(1), img.width())[2] > c1[2]);
  CHECK(sp::class_color(3) != sp::class_color(4));
  CHECK(sp::class_color(10) == sp::class_color(0));
}
