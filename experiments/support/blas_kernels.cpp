#include "experiments/support/blas_kernels.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/blas_core.hpp"
#include "autodiff/parallel.hpp"

namespace vk::support {

void restart_for_blas_core(std::string_view program, char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  // Lets a test play a machine whose OpenBLAS misreads its CPU (tests/test_programs.sh).
  const char* pretend = std::getenv("VAEKIT_BLAS_CORE_CHOSEN");
  const std::string chosen = pretend ? pretend : blas::core_name();
  const std::string better = blas::better_core(chosen, blas::host_features());
  if (better.empty()) return;
  fmt::print(stderr, "{}: OpenBLAS chose its {} kernels on a CPU with {}; restarting with OPENBLAS_CORETYPE={}\n",
             program, chosen, better == "SkylakeX" ? "AVX-512" : "AVX2 and FMA", better);
  ::setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  fmt::print(stderr, "{}: cannot restart ({}); running on with the {} kernels\n", program, std::strerror(errno),
             chosen);
}

nlohmann::json blas_json() {
  const std::string config = blas::config();  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."
  std::istringstream words(config);
  std::string library, version;
  words >> library >> version;
  return {{"library", library}, {"version", version}, {"config", config}, {"core", blas::core_name()},
          {"threads", parallel::threads()}};
}

}  // namespace vk::support
