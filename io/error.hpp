// The one error type of file formats and run folders (io/, datasets/, experiments/support/).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace vk {

// A file that cannot be read or written as expected, or data that do not fit together. what() is
// one line, "<file>: <what is wrong>", so a program can print it as is.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  IoError(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error(file.string() + ": " + what) {}
};

[[noreturn]] inline void fail(const std::filesystem::path& file, const std::string& what) {
  throw IoError(file, what);
}

}  // namespace vk

namespace vk::data {

// The datasets' name for it, so their code and tests read as before.
using DataError = vk::IoError;

}  // namespace vk::data
