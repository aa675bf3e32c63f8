// Pixels and labels that encode their index, for the data-set tests: a row of a batch or of a
// file read back can be traced to its source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vk::test {

using Bytes = std::vector<std::uint8_t>;

// Pixels that encode their image index (first two bytes) so a row can be traced to its source.
inline Bytes pattern_pixels(std::size_t n, std::size_t dim) {
  Bytes p(n * dim);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j)
      p[i * dim + j] = j == 0 ? std::uint8_t(i % 256) : j == 1 ? std::uint8_t(i / 256) : std::uint8_t((i * 7 + j * 13) % 256);
  return p;
}

inline Bytes pattern_labels(std::size_t n) {
  Bytes l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = std::uint8_t((i * 3) % 10);
  return l;
}

}  // namespace vk::test
