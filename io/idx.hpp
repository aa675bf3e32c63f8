// Reader for IDX files (the MNIST container format), gzip-compressed or raw.
//
// An IDX file is: two zero bytes, an element-type byte, a rank byte, `rank` big-endian uint32
// dimensions, then the elements in row-major order. Only unsigned bytes (type 0x08) are supported:
// that is what every MNIST-layout data set (MNIST, Fashion-MNIST, KMNIST) uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/error.hpp"

namespace vk::data {

// The contents of an unsigned-byte IDX file.
struct IdxArray {
  std::vector<std::size_t> dims;    // as in the header, e.g. {60000, 28, 28}
  std::vector<std::uint8_t> data;   // product(dims) bytes, row-major
};

// Reads `file`, which must hold an unsigned-byte IDX array of exactly `rank` dimensions, none of
// them zero. Gzip or raw is decided by the content (magic 1f 8b), not by the name. Gzip goes
// through zlib's gzread, which reads every member of a concatenation and, as gzip -d does,
// ignores bytes after the last member that do not start another.
//
// ENSURES: data.size() == product(dims), and the file holds no byte more or less than that.
// Memory: the header size is checked (overflow-safe) against the file before allocating; for gzip
// input the output is capped at the size the header implies and grown in steps unless the gzip
// trailer confirms that size, so a lying header cannot make it allocate much more than it reads.
// Throws IoError (DataError) naming `file` on any problem.
IdxArray read_idx(const std::filesystem::path& file, std::size_t rank);

// True if the file starts with the gzip magic bytes 1f 8b. False for unreadable or short files.
bool is_gzip_file(const std::filesystem::path& file);

}  // namespace vk::data
