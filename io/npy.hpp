// NumPy .npy files (format version 1.0) for float arrays, so weights and samples can be opened
// with numpy.load and compared against other implementations.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
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

// Reads a C-order '<f4' array, or '<f8' converted to float. Format versions 1.0, 2.0 and 3.0
// are accepted. Throws IoError for a malformed, truncated or unsupported file.
NpyArray read_npy(const std::filesystem::path& path);

}  // namespace vk
