// What the checkpoint suite's tests share: raw bytes of files, hand-made .npy files, floats that
// catch any conversion, a small store of parameters and the siblings a save must not leave.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/params.hpp"
#include "tests/files.hpp"

namespace vk::test {

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A hand-made npy file: header dict text as numpy would write it, padded to 64 bytes.
inline std::string make_npy(const std::string& dict, const std::string& data) {
  std::string body = dict;
  while ((10 + body.size() + 1) % 64 != 0) body += ' ';
  body += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(body.size() & 0xFF);
  out += char(body.size() >> 8);
  return out + body + data;
}

// Values that catch any conversion on the way: denormals, signed zero, extremes, inf, NaN payload.
inline std::vector<float> tricky_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  const float specials[] = {std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            std::bit_cast<float>(0x00400001u),  // denormal with low bits set
                            -0.0f,
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::infinity(),
                            std::bit_cast<float>(0x7fc12345u)};  // NaN with a payload
  for (std::size_t i = 0; i < std::size(specials) && i < n; ++i) v[i * 3 % n] = specials[i];
  return v;
}

inline bool same_bits(const float* a, const float* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

inline vk::ParameterStore<float> make_store(unsigned seed) {
  vk::ParameterStore<float> store;
  store.add("encoder.0.weight", 7, 5);
  store.add("encoder.0.bias", 1, 5);
  store.add("decoder.out.weight", 5, 3);
  auto v = tricky_floats(store.size(), seed);
  std::copy(v.begin(), v.end(), store.values().begin());
  return store;
}

inline std::vector<std::string> leftovers(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (contains(n, ".tmp-") || contains(n, ".old-")) names.push_back(n);
  }
  return names;
}

// Rewrites dir/manifest.json as an older build wrote it: the same, without any checksum.
inline void without_checksums(const std::filesystem::path& dir) {
  nlohmann::json m = nlohmann::json::parse(read_bytes(dir / "manifest.json"));
  m.erase("manifest_crc32");
  auto strip = [](nlohmann::json& entry) {
    entry.erase("crc32");
    entry.erase("bytes");
  };
  for (auto& p : m["parameters"]) strip(p);
  if (m.contains("training_state")) {
    strip(m["training_state"]);
    for (auto& a : m["training_state"]["arrays"]) strip(a);
  }
  write_bytes(dir / "manifest.json", m.dump(2) + "\n");
}

}  // namespace vk::test
