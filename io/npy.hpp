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

// The header of a little-endian float32, C-order .npy v1.0 file: magic, version, length and the
// dict padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
std::string npy_header(std::span<const std::size_t> shape);

// Writes product(shape) floats from data. Throws IoError.
void write_npy(const std::filesystem::path& path, const float* data,
               std::span<const std::size_t> shape);

// Reads a C-order '<f4' array, or '<f8' converted to float. Format versions 1.0, 2.0 and 3.0
// are accepted. Throws IoError for a malformed, truncated or unsupported file.
NpyArray read_npy(const std::filesystem::path& path);

}  // namespace vk
