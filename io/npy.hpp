// NumPy .npy files (format version 1.0) for float arrays, so weights and samples can be opened
// with numpy.load and compared against other implementations; and the arrays of other dtypes a
// data set comes in (bytes of images, integer labels), read as they are.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/error.hpp"

namespace vk {

struct NpyArray {
  std::vector<std::size_t> shape;  // empty for a scalar
  std::vector<float> data;         // C order
  std::size_t size() const { return data.size(); }
};

// Writes product(shape) floats from data as a little-endian float32, C-order .npy v1.0 file
// (atomically: to a temporary sibling renamed into place, so a failed write leaves no half file),
// with xt::dump_npy: the header is padded with spaces so the data start at a multiple of 64 bytes
// (by a whole 64 more when it already ends on one, as numpy pads). Throws IoError.
void write_npy(const std::filesystem::path& path, const float* data,
               std::span<const std::size_t> shape);
// The bytes write_npy writes (path only names the file in the error of a shape too large).
std::string npy_bytes(const std::filesystem::path& path, const float* data, std::span<const std::size_t> shape);

// An array as its file holds it: the dtype as numpy names it ('|u1', '<f4', '<i8', ...) and its
// product(shape) elements of item_size bytes each, little-endian, C order, at data().
struct NpyBytes {
  std::vector<std::size_t> shape;
  std::string descr;
  std::size_t item_size = 0;
  std::string file;         // the whole file
  std::size_t offset = 0;   // where the elements start in it
  const char* data() const { return file.data() + offset; }
  std::size_t count() const;  // product(shape)
};

// Reads a C-order array whose dtype is one of `dtypes` (each '|u1', '|i1' or '<' with u, i or f
// and 1, 2, 4 or 8 bytes). Throws IoError naming the file for a malformed, truncated or oversized
// file, or a dtype not among `dtypes` (the message lists them).
NpyBytes read_npy_bytes(const std::filesystem::path& path, std::span<const std::string_view> dtypes);

// Reads a C-order '<f4' array, or '<f8' converted to float. Format versions 1.0, 2.0 and 3.0
// are accepted. Throws IoError for a malformed, truncated or unsupported file.
NpyArray read_npy(const std::filesystem::path& path);

}  // namespace vk
