// The shape of one example as layers see it: a channels-last image [height, width, channels], or
// features (height = width = 1). Each extent is static where a type knows it and `dynamic` (0)
// where a flag sets it, as Eigen's `Dynamic`: compile-time checks compare only known extents.
#pragma once

#include <cstddef>
#include <string>

#include <fmt/format.h>

namespace vk {

inline constexpr std::size_t dynamic = 0;

struct Shape {
  std::size_t height = dynamic, width = dynamic, channels = dynamic;

  constexpr std::size_t size() const { return height * width * channels; }  // 0 if any is unknown
  constexpr bool known() const { return size() != 0; }
  constexpr bool operator==(const Shape&) const = default;
  std::string text() const {
    auto e = [](std::size_t n) { return n == dynamic ? std::string("?") : std::to_string(n); };
    return height == 1 && width == 1 ? e(channels) : fmt::format("{}x{}x{}", e(height), e(width), e(channels));
  }
};

constexpr Shape features(std::size_t n) { return {1, 1, n}; }
constexpr Shape image(std::size_t channels, std::size_t height, std::size_t width) {
  return {height, width, channels};
}
inline constexpr Shape unknown_shape{};

// a == b where both are known.
constexpr bool same_or_dynamic(std::size_t a, std::size_t b) { return a == dynamic || b == dynamic || a == b; }

}  // namespace vk
