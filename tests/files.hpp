// File helpers of the tests: a folder of its own per test, a file's bytes, and the IoError a call throws.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <unistd.h>

#include <doctest/doctest.h>

#include "io/error.hpp"

namespace vk::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("vaekit-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  // Names in the folder, so a test can tell that no temporary file was left behind.
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.insert(e.path().filename().string());
    return out;
  }
};

// The IoError message thrown by f, or "" when it throws none (other exceptions propagate).
template <class F>
std::string io_error_of(F&& f) {
  try {
    f();
  } catch (const vk::IoError& e) {
    return e.what();
  }
  return "";
}

// The whole file as bytes.
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes text as the file's whole content.
inline void write_text(const std::filesystem::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// f throws an IoError of one line that names `file` and says `phrase`.
inline void check_error(const std::function<void()>& f, const std::filesystem::path& file, const std::string& phrase) {
  const std::string msg = io_error_of(f);
  INFO("message: ", msg);
  CHECK(contains(msg, file.string()));
  CHECK(contains(msg, phrase));
  CHECK(!contains(msg, "\n"));
}

}  // namespace vk::test
