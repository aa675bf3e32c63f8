#include "io/run_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "io/error.hpp"

namespace vk {

namespace {

// flock without waiting: true when taken, false when another open file holds it.
bool lock_now(int fd, const std::filesystem::path& path) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) fail(path, "cannot lock: " + std::string(std::strerror(errno)));
  }
  return true;
}

}  // namespace

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& path) {
  // O_CLOEXEC: a program this one starts does not hold the lock after it ends.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot open the lock file: " + std::string(std::strerror(errno)));
  FileLock lock(fd);
  if (!lock_now(fd, path)) return std::nullopt;
  // The pid only tells a refused process who holds the lock; the lock itself is the flock.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    // Not fatal: the lock is held all the same.
  }
  return lock;
}

bool FileLock::held_elsewhere(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  FileLock probe(fd);
  return !lock_now(fd, path);
}

long FileLock::holder(const std::filesystem::path& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  // The file keeps the pid of the last process that took the lock; a holder that never wrote
  // one (flock(1)) would otherwise be named by a dead process's pid.
  return ::kill(pid_t(pid), 0) == 0 || errno == EPERM ? pid : 0;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open file releases the flock
}

}  // namespace vk
