// The processes of one run: rank() of size(), and the few collectives data-parallel training and
// sweeps need. Built on MPI when meson found it (-Dmpi=auto), otherwise on comm_single.cpp, where
// the one process is rank 0 of 1 and every collective leaves its buffer as it is; callers never
// ask which.
//
// Every collective must be called by every rank in the same order. An MPI failure (a rank that
// died, a broken connection) is one line on stderr and an abort of the whole job, never a hang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vk::dist {

// Initialises MPI (when built with it) for the life of the object: one per program, in main.
// Without mpirun the program is one process of one, as it would be without MPI.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// This process's place in the whole job (0 of 1 without mpirun).
int world_rank();
int world_size();

namespace detail {
inline int alone = 0;  // Alone objects alive
}

// While one lives, this process acts as a job of its own: rank 0 of 1, every collective a no-op.
// A sweep's rank trains its runs this way, each run on one process.
class Alone {
 public:
  Alone() { ++detail::alone; }
  ~Alone() { --detail::alone; }
  Alone(const Alone&) = delete;
  Alone& operator=(const Alone&) = delete;
};

// The ranks that train together: the job's, or this process alone inside an Alone.
inline int rank() { return detail::alone ? 0 : world_rank(); }
inline int size() { return detail::alone ? 1 : world_size(); }
inline bool is_root() { return rank() == 0; }
bool built_with_mpi();

// Every rank's buffer becomes rank `root`'s.
void broadcast(std::span<float> data, int root = 0);
void broadcast(std::span<double> data, int root = 0);
void broadcast(std::span<std::uint8_t> data, int root = 0);

// Every rank's buffer becomes the element-wise sum over the ranks (the same bits on every rank).
void allreduce_sum(std::span<float> data);
void allreduce_sum(std::span<double> data);

void barrier();

// FNV-1a of bytes: a checksum to compare the ranks' parameters with.
inline std::uint64_t checksum(std::span<const std::byte> bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::byte b : bytes) h = (h ^ std::uint64_t(b)) * 0x100000001b3ULL;
  return h;
}

// How many ranks hold other bytes than rank 0 (0: every rank has the same); a collective.
inline int ranks_differing_from_root(std::span<const std::byte> bytes) {
  const std::uint64_t mine = checksum(bytes);
  std::uint64_t root = mine;
  broadcast(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&root), sizeof root));
  double differs = root == mine ? 0 : 1;
  allreduce_sum(std::span<double>(&differs, 1));
  return int(differs);
}

// Ends every rank of the job with `code` after printing `message` (one line) from this rank;
// for an error only some ranks met, which would leave the others waiting in a collective.
[[noreturn]] void abort_all(std::string_view program, std::string_view message, int code);

}  // namespace vk::dist
