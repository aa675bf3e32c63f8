// One process, rank 0 of 1: the build without MPI. A sum over one rank is the buffer itself.
#include <cstdio>
#include <cstdlib>

#include "distributed/comm.hpp"

namespace vk::dist {

Session::Session(int&, char**&) {}
Session::~Session() = default;

int world_rank() { return 0; }
int world_size() { return 1; }
bool built_with_mpi() { return false; }

void broadcast(std::span<float>, int) {}
void broadcast(std::span<double>, int) {}
void broadcast(std::span<std::uint8_t>, int) {}
void allreduce_sum(std::span<float>) {}
void allreduce_sum(std::span<double>) {}
void barrier() {}

void abort_all(std::string_view program, std::string_view message, int code) {
  std::fprintf(stderr, "%.*s: error: %.*s\n", int(program.size()), program.data(), int(message.size()), message.data());
  std::exit(code);
}

}  // namespace vk::dist
