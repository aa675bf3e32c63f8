// The lock of a run folder: one holder at a time, the holder's pid for the refusal, and released
// by the kernel when the holder dies by SIGKILL.
#include <doctest/doctest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/support/files.hpp"
#include "io/run_lock.hpp"
#include "tests/files.hpp"

namespace fs = std::filesystem;
using namespace vk::test;

TEST_CASE("a file lock has one holder at a time and names it") {
  TempDir tmp;
  const fs::path file = tmp / "run.lock";
  CHECK_FALSE(vk::FileLock::held_elsewhere(file));
  CHECK_FALSE(fs::exists(file));  // probing creates nothing
  {
    std::optional<vk::FileLock> first = vk::FileLock::try_lock(file);
    REQUIRE(first);
    CHECK(vk::FileLock::holder(file) == long(::getpid()));
    // flock belongs to the open file: a second open, even in this process, is refused.
    CHECK_FALSE(vk::FileLock::try_lock(file));
    CHECK(vk::FileLock::held_elsewhere(file));
    vk::FileLock moved = std::move(*first);
    first.reset();  // the moved-from one releases nothing
    CHECK(vk::FileLock::held_elsewhere(file));
  }
  CHECK_FALSE(vk::FileLock::held_elsewhere(file));
  CHECK(vk::FileLock::try_lock(file));
}

TEST_CASE("a run folder's lock refuses a second writer in one line, and a holder killed by SIGKILL leaves none") {
  TempDir tmp;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the first writer: takes the lock, says so, and waits to be killed
    vk::support::hold_run_lock(tmp.path);
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  CHECK(vk::support::run_locked(tmp.path));
  const std::string e = io_error_of([&] { vk::support::hold_run_lock(tmp.path); });
  CHECK(e == tmp.path.string() + ": another process (pid " + std::to_string(child) +
                 ") is writing this run; refusing to write it too (a process that ended, even by kill -9, holds no lock)");
  ::kill(child, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK_FALSE(vk::support::run_locked(tmp.path));
  CHECK(io_error_of([&] { vk::support::hold_run_lock(tmp.path); }) == "");
}
