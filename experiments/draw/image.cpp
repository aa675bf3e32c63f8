#include "experiments/draw/image.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "experiments/draw/font.hpp"

namespace vk::support {

Rgb class_color(std::size_t label) {
  static constexpr Rgb kTab10[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                     {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
                                     {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                     {23, 190, 207}};
  return kTab10[label % 10];
}

Image::Image(int width, int height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("image size " + std::to_string(width) + "x" +
                                std::to_string(height) + " is empty");
  rgb_.resize(std::size_t(width) * std::size_t(height) * 3);
  fill(background);
}

Rgb Image::pixel(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_)
    throw std::out_of_range("pixel (" + std::to_string(x) + ", " + std::to_string(y) +
                            ") is outside the image");
  const std::uint8_t* p = &rgb_[(std::size_t(y) * std::size_t(width_) + std::size_t(x)) * 3];
  return {p[0], p[1], p[2]};
}

void Image::set_pixel(int x, int y, Rgb color) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  std::uint8_t* p = &rgb_[(std::size_t(y) * std::size_t(width_) + std::size_t(x)) * 3];
  p[0] = color.r;
  p[1] = color.g;
  p[2] = color.b;
}

void Image::fill(Rgb color) { fill_rect(0, 0, width_, height_, color); }

void Image::fill_rect(int x, int y, int w, int h, Rgb color) {
  const int x0 = std::max(x, 0), x1 = std::min(x + w, width_);
  const int y0 = std::max(y, 0), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set_pixel(xx, yy, color);
}

void Image::draw_rect(int x, int y, int w, int h, Rgb color) {
  if (w <= 0 || h <= 0) return;
  fill_rect(x, y, w, 1, color);
  fill_rect(x, y + h - 1, w, 1, color);
  fill_rect(x, y, 1, h, color);
  fill_rect(x + w - 1, y, 1, h, color);
}

void Image::blit(const float* values, Shape tile, int x, int y, int scale) {
  const std::size_t c = tile.channels;
  if (c != 1 && c != 3)
    throw std::invalid_argument("a tile is grey (1 channel) or RGB (3), not " + std::to_string(c) + " channels");
  auto level = [](float v) {
    return static_cast<std::uint8_t>(std::lround((std::isnan(v) ? 0.f : std::clamp(v, 0.f, 1.f)) * 255.f));
  };
  for (std::size_t r = 0; r < tile.height; ++r)
    for (std::size_t col = 0; col < tile.width; ++col) {
      const float* p = values + (r * tile.width + col) * c;
      const Rgb color = c == 1 ? Rgb{level(p[0]), level(p[0]), level(p[0])} : Rgb{level(p[0]), level(p[1]), level(p[2])};
      fill_rect(x + int(col) * scale, y + int(r) * scale, scale, scale, color);
    }
}

void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, int scale) {
  int pen_x = x, pen_y = y;
  for (char ch : text) {
    if (ch == '\n') {
      pen_x = x;
      pen_y += kLineAdvance * scale;
      continue;
    }
    const Glyph& g = glyph(ch);
    for (int r = 0; r < kGlyphHeight; ++r)
      for (int c = 0; c < kGlyphWidth; ++c)
        if (g[std::size_t(r)] >> (kGlyphWidth - 1 - c) & 1)
          image.fill_rect(pen_x + c * scale, pen_y + r * scale, scale, scale, color);
    pen_x += kGlyphAdvance * scale;
  }
}

int text_width(std::string_view text, int scale) {
  std::size_t widest = 0, current = 0;
  for (char ch : text) {
    current = ch == '\n' ? 0 : current + 1;
    widest = std::max(widest, current);
  }
  // The blank column after the last character is not part of the inked box.
  return widest == 0 ? 0 : (int(widest) * kGlyphAdvance - 1) * scale;
}

int text_height(std::string_view text, int scale) {
  const int lines = 1 + int(std::count(text.begin(), text.end(), '\n'));
  return ((lines - 1) * kLineAdvance + kGlyphHeight) * scale;
}

}  // namespace vk::support
