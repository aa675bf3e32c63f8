// The BLAS kernels a program runs: chosen for the CPU before any work, and recorded in its run.
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace vk::support {

// When OPENBLAS_CORETYPE is unset and OpenBLAS chose kernels weaker than the CPU runs
// (blas::better_core), says so in one line on stderr and replaces the process by itself with
// OPENBLAS_CORETYPE set: OpenBLAS reads it only when it loads, before main. The variable, set,
// keeps the new process (and any the user starts) from restarting again. Returns when nothing
// is to be done or when the restart failed (then it says so and the program runs on as it was).
// VAEKIT_BLAS_CORE_CHOSEN, when set, stands in for OpenBLAS's choice, so a test can play a
// machine whose OpenBLAS misreads its CPU.
void restart_for_blas_core(std::string_view program, char** argv);

// {"library", "version", "config", "core", "threads"}: what config.json records of the BLAS, with
// the threads the products split over (blas::set_threads, which must come first).
nlohmann::json blas_json();

}  // namespace vk::support
