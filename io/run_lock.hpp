// A lock that keeps two processes from writing one thing at once (a run folder): flock(2) on a
// file, held while the FileLock lives and released by the kernel when the process ends, however it
// ends (kill -9 included), so a dead holder never leaves a stale lock behind.
#pragma once

#include <filesystem>
#include <optional>

namespace vk {

class FileLock {
 public:
  // Takes the lock on path (created if missing; it holds the holder's pid) without waiting.
  // std::nullopt when another process holds it. Throws IoError naming path when it cannot be opened.
  static std::optional<FileLock> try_lock(const std::filesystem::path& path);
  // Whether another process holds the lock on path now (takes and releases it; a missing file is
  // not held, and is not created).
  static bool held_elsewhere(const std::filesystem::path& path);
  // The pid written into path by the process that took the lock last, if it still runs (0 otherwise).
  static long holder(const std::filesystem::path& path);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace vk
