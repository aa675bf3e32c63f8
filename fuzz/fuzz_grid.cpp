// libFuzzer target: a vae-sweep grid file, read as vae-sweep reads it: parsed (parse_json), its
// runs listed (sweep_runs), and the copy the sweep keeps in its folder written and compared again
// as a restarted sweep does. Besides crashes, hangs, leaks and undefined behaviour, it checks what
// the sweep relies on (fuzz/grid_checks.hpp: plain folder names, one run per folder, the grid's
// values to the last digit) and that the kept copy reads back as the same grid (or the sweep would
// refuse its own folder).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "experiments/sweep.hpp"
#include "fuzz/grid_checks.hpp"
#include "fuzz/scratch.hpp"
#include "io/json_read.hpp"

namespace {

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz_grid: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ojson = nlohmann::ordered_json;
  ojson grid;
  try {
    grid = vk::parse_json<ojson>(vk::fuzz::as_text(data, size), "grid.json");
  } catch (const vk::IoError&) {
    return 0;  // vae-sweep: "--grid FILE: malformed JSON: ..."
  }
  std::vector<vk::programs::SweepRun> runs;
  try {
    runs = vk::programs::sweep_runs(grid);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  if (const std::string problem = vk::fuzz::grid_problem(grid, runs); !problem.empty()) broken(problem);
  std::string copy;
  try {
    copy = grid.dump(2) + "\n";
  } catch (const nlohmann::json::exception&) {
    return 0;  // invalid UTF-8: vae-sweep reports it in one line
  }
  if (vk::parse_json<ojson>(copy, "copy") != grid) broken("the grid's copy does not read back as the grid");
  return 0;
}
