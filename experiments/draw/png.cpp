#include "experiments/draw/png.hpp"

#include <cstring>
#include <limits>
#include <string>

#include <png.h>

#include "experiments/support/files.hpp"

namespace vk::support {

namespace fs = std::filesystem;

namespace {

// libpng's simplified API reports errors through a return value and a message instead of
// longjmp, which would skip C++ destructors. what names the file (or the picture) in errors.
std::vector<std::uint8_t> encode(const std::string& what, const std::uint8_t* pixels, std::size_t width,
                                 std::size_t height, png_uint_32 format) {
  if (width == 0 || height == 0 || width > std::numeric_limits<png_uint_32>::max() / 4 ||
      height > std::numeric_limits<png_uint_32>::max())
    throw IoError(what + ": cannot write a " + std::to_string(width) + "x" + std::to_string(height) + " image");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = png_uint_32(width);
  image.height = png_uint_32(height);
  image.format = format;
  // Room for the largest PNG these pixels can give, so that one pass compresses them.
  std::vector<std::uint8_t> out(PNG_IMAGE_PNG_SIZE_MAX(image));
  png_alloc_size_t size = out.size();
  if (png_image_write_to_memory(&image, out.data(), &size, 0, pixels, 0, nullptr)) {
    out.resize(size);
    return out;
  }
  std::string message = image.message;
  png_image_free(&image);
  throw IoError(what + ": cannot write PNG: " + message);
}

void write_png_format(const fs::path& path, const std::uint8_t* pixels, std::size_t width,
                      std::size_t height, png_uint_32 format) {
  const std::vector<std::uint8_t> bytes = encode(path.string(), pixels, width, height, format);
  write_text_atomic(path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

}  // namespace

void write_png_gray(const fs::path& path, const std::uint8_t* pixels, std::size_t width,
                    std::size_t height) {
  write_png_format(path, pixels, width, height, PNG_FORMAT_GRAY);
}

void write_png_rgb(const fs::path& path, const std::uint8_t* rgb, std::size_t width,
                   std::size_t height) {
  write_png_format(path, rgb, width, height, PNG_FORMAT_RGB);
}

std::vector<std::uint8_t> encode_png(const Image& image) {
  return encode("picture", image.data(), std::size_t(image.width()), std::size_t(image.height()), PNG_FORMAT_RGB);
}

void write_png(const fs::path& path, const Image& image) {
  write_png_rgb(path, image.data(), std::size_t(image.width()), std::size_t(image.height()));
}

}  // namespace vk::support
