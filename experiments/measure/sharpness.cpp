#include "experiments/measure/sharpness.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace vk::measure {

double laplacian_variance(const float* image, std::size_t h, std::size_t w, std::size_t channels) {
  if (h < 3 || w < 3 || channels == 0)
    throw std::invalid_argument(fmt::format("laplacian_variance: a {}x{}x{} image has no interior pixel", h, w, channels));
  const auto at = [&](std::size_t r, std::size_t c, std::size_t k) { return double(image[(r * w + c) * channels + k]); };
  double sum = 0, sq = 0;
  std::size_t count = 0;
  for (std::size_t r = 1; r + 1 < h; ++r)
    for (std::size_t c = 1; c + 1 < w; ++c)
      for (std::size_t k = 0; k < channels; ++k) {
        const double l = at(r - 1, c, k) + at(r + 1, c, k) + at(r, c - 1, k) + at(r, c + 1, k) - 4.0 * at(r, c, k);
        sum += l;
        sq += l * l;
        ++count;
      }
  const double m = sum / double(count);
  return sq / double(count) - m * m;
}

double mean_laplacian_variance(const float* images, std::size_t n, std::size_t h, std::size_t w, std::size_t channels) {
  if (n == 0) throw std::invalid_argument("mean_laplacian_variance: no images");
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += laplacian_variance(images + i * h * w * channels, h, w, channels);
  return total / double(n);
}

}  // namespace vk::measure
