#include "io/atomic.hpp"

#include <cstdio>
#include <random>
#include <string>
#include <unistd.h>

#include "io/error.hpp"

namespace vk {

namespace fs = std::filesystem;

fs::path temp_sibling(const fs::path& path, std::string_view tag) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".%.*s-%ld-%08llx", int(tag.size()), tag.data(),
                long(::getpid()), static_cast<unsigned long long>(rng() & 0xFFFFFFFFu));
  fs::path tmp = path;
  tmp += suffix;
  return tmp;
}

void commit_temp(const fs::path& tmp, const fs::path& path) {
  std::error_code ec, ignored;
  fs::path old;
  // Only a folder replaces a folder: a file written over one must fail, not delete it.
  if (fs::is_directory(tmp, ignored) && fs::is_directory(fs::symlink_status(path, ignored))) {
    old = temp_sibling(path, "old");
    fs::rename(path, old, ec);
    if (ec) {
      fs::remove_all(tmp, ignored);
      fail(path, "cannot move the previous version aside: " + ec.message());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, path, ignored);
    fs::remove_all(tmp, ignored);
    fail(path, "cannot replace: " + ec.message());
  }
  if (!old.empty()) fs::remove_all(old, ignored);  // leftover space only; the new one is complete
}

}  // namespace vk
