// A full disk for one file, for tests: preloaded (LD_PRELOAD) with VAEKIT_ENOSPC=PATTERN:BYTES in
// the environment, write() and writev() to a file whose path contains PATTERN succeed for the
// first BYTES bytes of this process (a write that straddles them is cut short there) and then fail
// with ENOSPC, as a disk that fills part-way through that file. Temporary siblings
// ("final.json.tmp-...") contain their file's name, so they match too. Without the variable every
// call goes straight to the C library's.
#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Plan {
  std::string pattern;
  long long bytes = -1;  // -1: no plan
};

const Plan& plan() {
  static const Plan p = [] {
    Plan out;
    const char* text = std::getenv("VAEKIT_ENOSPC");
    if (!text) return out;
    const char* colon = std::strrchr(text, ':');
    if (!colon || colon == text) return out;
    out.pattern.assign(text, colon);
    out.bytes = std::atoll(colon + 1);
    return out;
  }();
  return p;
}

std::atomic<long long> written{0};

// How many of n bytes to fd may still be written: n when fd is not a planned file.
long long allowed(int fd, long long n) {
  const Plan& p = plan();
  if (p.bytes < 0) return n;
  char link[64], path[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = ::readlink(link, path, sizeof path - 1);
  if (len <= 0) return n;
  path[len] = '\0';
  if (!std::strstr(path, p.pattern.c_str())) return n;
  const long long before = written.fetch_add(n);
  return before >= p.bytes ? 0 : std::min(n, p.bytes - before);
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" ssize_t write(int fd, const void* data, size_t n) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  const long long ok = allowed(fd, (long long)n);
  if (ok == 0 && n > 0) {
    errno = ENOSPC;
    return -1;
  }
  return real(fd, data, size_t(ok));
}

extern "C" ssize_t writev(int fd, const struct iovec* iov, int count) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  long long n = 0;
  for (int i = 0; i < count; ++i) n += (long long)iov[i].iov_len;
  const long long ok = allowed(fd, n);
  if (ok == n) return real(fd, iov, count);
  if (ok == 0) {
    errno = ENOSPC;
    return -1;
  }
  // Cut short: the first `ok` bytes of the vectors, as a disk that filled part-way.
  static const auto real_write = next<ssize_t (*)(int, const void*, size_t)>("write");
  long long done = 0;
  for (int i = 0; i < count && done < ok; ++i) {
    const size_t part = size_t(std::min<long long>((long long)iov[i].iov_len, ok - done));
    const ssize_t w = real_write(fd, iov[i].iov_base, part);
    if (w < 0) return done ? ssize_t(done) : w;
    done += w;
    if (size_t(w) < part) break;
  }
  return ssize_t(done);
}
