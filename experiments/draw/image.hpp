// An 8-bit RGB canvas with the few drawing operations figures need (rectangles, grey or colour
// tiles, text), kept free of any graphics library so it is easy to test pixel by pixel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "autodiff/shape.hpp"

namespace vk::support {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(Rgb, Rgb) = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kGray{128, 128, 128};

// Ten colours that stay apart from one another (matplotlib's "tab10"), for class labels;
// label 10 reuses colour 0.
Rgb class_color(std::size_t label);

class Image {
 public:
  Image(int width, int height, Rgb background = kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  // Interleaved RGB, row after row, 3 * width bytes per row (what write_png_rgb takes).
  const std::uint8_t* data() const { return rgb_.data(); }

  Rgb pixel(int x, int y) const;  // throws std::out_of_range outside the image

  // Drawing clips to the image, so callers may draw across its edges.
  void set_pixel(int x, int y, Rgb color);
  void fill(Rgb color);
  void fill_rect(int x, int y, int w, int h, Rgb color);
  void draw_rect(int x, int y, int w, int h, Rgb color);  // one-pixel outline
  // Draws a row-major tile of tile.height x tile.width pixels, grey (1 channel) or RGB (3, channels
  // last), values in [0, 1] (clamped; NaN drawn black), with its top-left corner at (x, y), each
  // pixel as a scale x scale block. Throws std::invalid_argument for another number of channels.
  void blit(const float* values, Shape tile, int x, int y, int scale = 1);

 private:
  int width_;
  int height_;
  std::vector<std::uint8_t> rgb_;
};

// Draws text with the 5x7 font, top-left corner at (x, y), each font pixel a scale x scale block.
// '\n' starts a new line.
void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, int scale = 1);
// Size in pixels of the box draw_text inks for text (widest line, all lines).
int text_width(std::string_view text, int scale = 1);
int text_height(std::string_view text, int scale = 1);

}  // namespace vk::support
