// The figures experiments produce: grids of images (samples, reconstructions, interpolations),
// one labelled row per class, and 2-D latent scatter plots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/draw/image.hpp"

namespace vk::support {

// count row-major images of shape `tile` (h x w, grey or RGB channels last; values in [0, 1],
// clamped), stored one after another, laid out left to right in rows of `columns` on a white
// background: image i has its top-left corner at
// x = pad + (i % columns) * (w * scale + pad), y = pad + (i / columns) * (h * scale + pad).
Image image_grid(const float* images, std::size_t count, Shape tile, std::size_t columns, int pad, int scale = 1);

// rows * per_row images (row r holds images r * per_row ... r * per_row + per_row - 1), with
// row_labels[r] written to the left of row r. row_labels.size() must equal rows.
Image labelled_rows_grid(const float* images, std::size_t rows, std::size_t per_row, Shape tile,
                         const std::vector<std::string>& row_labels, int pad = 2, int scale = 1);

// n points (x, y interleaved) coloured by labels[i] (class_color; labels may be null), inside a
// framed box with the axis ranges as tick labels, and a legend of class_names on the right.
// size is the side of the square plot region; the legend widens the image. Non-finite points
// are skipped.
Image scatter_plot(const float* xy, std::size_t n, const std::uint8_t* labels,
                   const std::vector<std::string>& class_names, int size);

}  // namespace vk::support
