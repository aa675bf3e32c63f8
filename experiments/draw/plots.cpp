#include "experiments/draw/plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "experiments/draw/font.hpp"

namespace vk::support {

namespace {

int checked_int(std::size_t v, const char* what) {
  if (v > 1u << 20) throw std::invalid_argument(std::string(what) + " is too large for an image");
  return int(v);
}

std::string tick_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

struct Range {
  double lo, hi;
};

// The data range with 5% room on each side; a single value gets a unit range around it.
Range padded_range(const float* xy, std::size_t n, int axis) {
  double lo = INFINITY, hi = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    const float x = xy[2 * i], y = xy[2 * i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    lo = std::min(lo, double(axis == 0 ? x : y));
    hi = std::max(hi, double(axis == 0 ? x : y));
  }
  if (lo > hi) return {-1, 1};
  if (lo == hi) return {lo - 1, hi + 1};
  const double room = 0.05 * (hi - lo);
  return {lo - room, hi + room};
}

}  // namespace

Image image_grid(const float* images, std::size_t count, Shape tile, std::size_t columns, int pad, int scale) {
  const std::size_t h = tile.height, w = tile.width;
  if (count == 0 || h == 0 || w == 0 || columns == 0 || pad < 0 || scale < 1)
    throw std::invalid_argument("image_grid: empty grid or bad layout");
  const std::size_t cols = std::min(columns, count);
  const std::size_t rows = (count + columns - 1) / columns;
  const int cell_w = checked_int(w, "image width") * scale;
  const int cell_h = checked_int(h, "image height") * scale;
  Image grid(pad + checked_int(cols, "columns") * (cell_w + pad),
             pad + checked_int(rows, "rows") * (cell_h + pad));
  for (std::size_t i = 0; i < count; ++i)
    grid.blit(images + i * tile.size(), tile, pad + int(i % columns) * (cell_w + pad),
              pad + int(i / columns) * (cell_h + pad), scale);
  return grid;
}

Image labelled_rows_grid(const float* images, std::size_t rows, std::size_t per_row, Shape tile,
                         const std::vector<std::string>& row_labels, int pad, int scale) {
  if (row_labels.size() != rows)
    throw std::invalid_argument("labelled_rows_grid: " + std::to_string(row_labels.size()) +
                                " labels for " + std::to_string(rows) + " rows");
  const Image tiles = image_grid(images, rows * per_row, tile, per_row, pad, scale);
  const std::size_t h = tile.height;
  // Text grows with the tiles so that labels stay legible next to upscaled images.
  const int text_scale = std::max(1, int(h) * scale / 28);
  int label_w = 0;
  for (const auto& label : row_labels) label_w = std::max(label_w, text_width(label, text_scale));
  label_w += 2 * pad + 4;

  Image out(label_w + tiles.width(), tiles.height());
  for (int y = 0; y < tiles.height(); ++y)
    for (int x = 0; x < tiles.width(); ++x) out.set_pixel(label_w + x, y, tiles.pixel(x, y));
  const int cell_h = int(h) * scale;
  for (std::size_t r = 0; r < rows; ++r) {
    const int y = pad + int(r) * (cell_h + pad) + (cell_h - text_height(row_labels[r], text_scale)) / 2;
    draw_text(out, pad + 2, y, row_labels[r], kBlack, text_scale);
  }
  return out;
}

Image scatter_plot(const float* xy, std::size_t n, const std::uint8_t* labels,
                   const std::vector<std::string>& class_names, int size) {
  if (size < 64) throw std::invalid_argument("scatter_plot: size must be at least 64 pixels");
  const Range xr = padded_range(xy, n, 0), yr = padded_range(xy, n, 1);

  // Room for tick labels left of and below the box.
  int tick_w = 0;
  for (double v : {yr.lo, (yr.lo + yr.hi) / 2, yr.hi}) tick_w = std::max(tick_w, text_width(tick_text(v)));
  const int left = tick_w + 8, top = 8, right = 8, bottom = kGlyphHeight + 10;
  const int box_w = size - left - right, box_h = size - top - bottom;

  int legend_w = 0;
  for (const auto& name : class_names) legend_w = std::max(legend_w, text_width(name));
  if (!class_names.empty()) legend_w += 8 + 12 + 8;  // swatch, gaps

  Image img(size + legend_w, size);
  img.draw_rect(left, top, box_w, box_h, kBlack);

  auto to_px = [&](double v, Range r, int extent) {
    return int(std::lround((v - r.lo) / (r.hi - r.lo) * (extent - 3))) + 1;
  };
  // Ticks at both ends and the middle of each axis, labelled with their values.
  for (int k = 0; k <= 2; ++k) {
    const double xv = xr.lo + (xr.hi - xr.lo) * k / 2, yv = yr.lo + (yr.hi - yr.lo) * k / 2;
    const int x = left + to_px(xv, xr, box_w), y = top + box_h - 1 - to_px(yv, yr, box_h);
    img.fill_rect(x, top + box_h, 1, 3, kBlack);
    img.fill_rect(left - 3, y, 3, 1, kBlack);
    const std::string xs = tick_text(xv), ys = tick_text(yv);
    const int xt = std::clamp(x - text_width(xs) / 2, 0, size - text_width(xs));
    draw_text(img, xt, top + box_h + 5, xs, kBlack);
    const int yt = std::clamp(y - kGlyphHeight / 2, 0, size - kGlyphHeight);
    draw_text(img, left - 5 - text_width(ys), yt, ys, kBlack);
  }

  // Many points get smaller dots so that dense classes do not hide each other.
  const int dot = n > 5000 ? 2 : 3;
  for (std::size_t i = 0; i < n; ++i) {
    const float x = xy[2 * i], y = xy[2 * i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    const int px = left + to_px(x, xr, box_w), py = top + box_h - 1 - to_px(y, yr, box_h);
    img.fill_rect(px - dot / 2, py - dot / 2, dot, dot, class_color(labels ? labels[i] : 0));
  }

  for (std::size_t c = 0; c < class_names.size(); ++c) {
    const int y = top + 4 + int(c) * (kLineAdvance + 4);
    img.fill_rect(size + 8, y, 9, 9, class_color(c));
    draw_text(img, size + 8 + 12, y + 1, class_names[c], kBlack);
  }
  return img;
}

}  // namespace vk::support
