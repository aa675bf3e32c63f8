// The check of OpenBLAS's kernels against a double-precision reference (support::check_blas_kernels)
// and what config.json records of it; tests/test_programs.sh sees the fall-back of a whole program.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "experiments/support/blas_kernels.hpp"

using namespace vk;

TEST_CASE("the kernels OpenBLAS runs here agree with the reference at the step's shapes") {
  const support::KernelCheck r = support::check_blas_kernels(blas::core_name());
  CAPTURE(r.worst_product);
  CHECK(r.passed);
  CHECK(r.products == 21);  // the step's 18 products and the latent heads' 3
  CHECK(r.max_relative_error > 0);  // float rounds: the comparison is not of a product with itself
  CHECK(r.max_relative_error < 1e-5);
  CHECK(r.ms > 0);
}

TEST_CASE("VAEKIT_BLAS_CHECK_FAIL plays kernels that miscompute one element, and the check sees it") {
  const std::string core = blas::core_name();
  // Any case, in a comma list.
  std::string list = "Prescott,";
  for (char c : core) list += char(std::tolower(static_cast<unsigned char>(c)));
  ::setenv("VAEKIT_BLAS_CHECK_FAIL", list.c_str(), 1);
  const support::KernelCheck bad = support::check_blas_kernels(core);
  const support::KernelCheck other = support::check_blas_kernels("SomeOtherCore");
  ::unsetenv("VAEKIT_BLAS_CHECK_FAIL");
  CHECK_FALSE(bad.passed);
  CHECK(bad.worst_product == "mlp enc fwd");
  CHECK(bad.max_relative_error > 1e-4);
  CHECK(other.passed);
}

TEST_CASE("blas_json says who chose the kernels and that a program that did not check them did not") {
  const nlohmann::json j = support::blas_json();
  CHECK(j["core"] == blas::core_name());
  CHECK(j["core_chosen_by"] == (std::getenv("OPENBLAS_CORETYPE") ? "environment" : "library"));
  CHECK(j["check"]["ran"] == false);
  CHECK(j["check"]["why"].get<std::string>().size() > 0);
  CHECK_FALSE(j.contains("restart"));
}
