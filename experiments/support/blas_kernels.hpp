// The BLAS kernels a program runs: chosen before any work, checked, and recorded in its run.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace vk::support {

// What check_blas_kernels found: the largest relative error of any element of its products, and
// the product it was in.
struct KernelCheck {
  bool passed = false;
  int products = 0;
  double max_relative_error = 0;
  std::string worst_product;
  double ms = 0;
};

// The products of a training step (bench/step_shapes.hpp: every transpose flag, the MLP's and the
// conv's widths; the batch, m or the weight gradients' k, cut to 37 rows, and no width past 1024)
// and the latent heads', through OpenBLAS's sgemm (blas::openblas_sgemm), each element against a
// double-precision loop: its error over the sum of |terms| must stay within 1e-5. `running` names
// the kernels for VAEKIT_BLAS_CHECK_FAIL (a comma list of core names, any case): for those, one
// element of one product is made wrong before the comparison, so a test can play a library whose
// kernels miscompute.
KernelCheck check_blas_kernels(std::string_view running);

// Called first by every program (support::run_main), before MPI starts, as it may replace the
// process by itself with OPENBLAS_CORETYPE set (OpenBLAS reads it only when it loads, before main):
// - OPENBLAS_CORETYPE set by the user or the machine: respected as it is; nothing checked.
// - OpenBLAS chose its kernels: when they are weaker than the CPU runs (blas::better_core), a
//   restart with the better ones; otherwise check_blas_kernels, and when they disagree with the
//   reference, a restart with the next weaker family (blas::weaker_core).
// - After such a restart (VAEKIT_BLAS_RESTART holds why): the kernels are checked again, and the
//   fall-back goes on down from the family asked for, so it ends.
// Each restart or a fall-back with nowhere to go is one line on stderr. VAEKIT_BLAS_CORE_CHOSEN,
// when set, stands in for OpenBLAS's own choice, so a test can play a machine whose OpenBLAS
// misreads its CPU.
void choose_blas_kernels(std::string_view program, char** argv);

// {"library", "version", "config", "core", "threads", "conv", "core_chosen_by", "check"} (and "restart",
// why vaekit set the kernels): what config.json records of the BLAS, with the threads the products
// split over (blas::set_threads, which must come first), conv what runs single-precision
// convolutions ("im2col" or "onednn", set_conv_path). core_chosen_by is "library",
// "environment" or "vaekit"; check is {"ran": false, "why"} or {"ran": true, "passed", "products",
// "max_relative_error", "worst_product", "ms"}.
nlohmann::json blas_json();

}  // namespace vk::support
