// A checkpoint folder as one fuzz input. The input is a sequence of records: a file name, a
// newline, a 4-byte little-endian length and that many bytes (fewer when the input ends first).
// A length-prefixed frame lets the fuzzer grow or shrink one file without shifting the others.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vk::fuzz {

struct PackedFile {
  std::string name;
  std::string bytes;
};

// At most this many files, so one input cannot make a folder of thousands.
constexpr std::size_t max_packed_files = 32;

inline std::string pack(const std::vector<PackedFile>& files) {
  std::string out;
  for (const auto& f : files) {
    out += f.name + '\n';
    const auto n = std::uint32_t(f.bytes.size());
    for (int i = 0; i < 4; ++i) out += char((n >> (8 * i)) & 0xFF);
    out += f.bytes;
  }
  return out;
}

// Records whose name could leave the folder or hide in it ('/', '\\', '\0', a leading '.', empty)
// are dropped: the loader itself refuses such names, and the fuzzer must not write elsewhere.
inline std::vector<PackedFile> unpack(std::string_view in) {
  std::vector<PackedFile> files;
  while (!in.empty() && files.size() < max_packed_files) {
    const std::size_t newline = in.find('\n');
    if (newline == std::string_view::npos || in.size() < newline + 5) break;
    PackedFile f{std::string(in.substr(0, newline)), {}};
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t(std::uint8_t(in[newline + 1 + i])) << (8 * i);
    in.remove_prefix(newline + 5);
    f.bytes = std::string(in.substr(0, n));
    in.remove_prefix(f.bytes.size());
    const bool plain = !f.name.empty() && f.name.front() != '.' && f.name.size() < 200 &&
                       f.name.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
    if (plain) files.push_back(std::move(f));
  }
  return files;
}

}  // namespace vk::fuzz
