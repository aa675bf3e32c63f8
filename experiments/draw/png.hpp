// PNG files through libpng. Each file is written to a temporary sibling and renamed into place,
// so a viewer or a crash never sees a half-written image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/error.hpp"
#include "experiments/draw/image.hpp"

namespace vk::support {

// 8-bit grayscale, width * height bytes, row after row. Throws IoError naming path.
void write_png_gray(const std::filesystem::path& path, const std::uint8_t* pixels,
                    std::size_t width, std::size_t height);
// 8-bit RGB, 3 * width * height bytes, interleaved, row after row. Throws IoError naming path.
void write_png_rgb(const std::filesystem::path& path, const std::uint8_t* rgb, std::size_t width,
                   std::size_t height);
void write_png(const std::filesystem::path& path, const Image& image);
// The bytes write_png writes, for a page to embed a picture it has not written (report/html).
std::vector<std::uint8_t> encode_png(const Image& image);

}  // namespace vk::support
