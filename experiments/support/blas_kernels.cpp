#include "experiments/support/blas_kernels.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/blas_core.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/parallel.hpp"
#include "bench/step_shapes.hpp"

namespace vk::support {

namespace {

constexpr std::size_t kBatchRows = 37;  // odd: partial tiles at every kernel's edge
constexpr std::size_t kMaxWidth = 1024;
constexpr double kTolerance = 1e-5;

// What this process found, for blas_json.
std::string chosen_by;  // "" until choose_blas_kernels ran
std::string restart_reason;
KernelCheck last_check;
bool checked = false;

bool listed(std::string_view list, std::string_view name) {
  auto lower = [](std::string_view s) {
    std::string t(s);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return t;
  };
  std::istringstream words(lower(list));
  for (std::string w; std::getline(words, w, ',');)
    if (!w.empty() && w == lower(name)) return true;
  return false;
}

// The matrices of the products, reused from one to the next (fresh pages cost more than the sums).
struct Scratch {
  std::vector<float> a, b, c, c0, bt;
  std::vector<double> want, scale;
};

// One product C = op(A) op(B) + beta C in float through OpenBLAS; returns the largest error of an
// element over the sum of the absolute values of its terms, which a loop in double gives, row by row.
double product_error(const bench::GemmShape& s, float beta, std::mt19937& gen, Scratch& w, bool plant) {
  const std::size_t m = s.m, n = s.n, k = s.k;
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  w.a.resize(m * k);
  w.b.resize(k * n);
  w.c.resize(m * n);
  for (auto* v : {&w.a, &w.b, &w.c})
    for (float& x : *v) x = u(gen);
  w.c0 = w.c;
  blas::openblas_sgemm(s.ta, s.tb, m, n, k, 1.f, w.a.data(), s.ta ? m : k, w.b.data(), s.tb ? k : n, beta,
                       w.c.data(), n);
  if (plant) w.c[m * n / 2] += 1.f;
  // op(B) as [k, n], row-major.
  const float* ob = w.b.data();
  if (s.tb) {
    w.bt.resize(k * n);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t q = 0; q < k; ++q) w.bt[q * n + j] = w.b[j * k + q];
    ob = w.bt.data();
  }
  w.want.resize(n);
  w.scale.resize(n);
  double worst = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      w.want[j] = double(beta) * w.c0[i * n + j];
      w.scale[j] = std::abs(w.want[j]);
    }
    for (std::size_t q = 0; q < k; ++q) {
      const double x = s.ta ? w.a[q * m + i] : w.a[i * k + q];
      const float* row = ob + q * n;
      for (std::size_t j = 0; j < n; ++j) {
        w.want[j] += x * row[j];
        w.scale[j] += std::abs(x * row[j]);
      }
    }
    for (std::size_t j = 0; j < n; ++j) {
      const double err = std::abs(double(w.c[i * n + j]) - w.want[j]) / std::max(w.scale[j], 1e-30);
      if (!(err <= worst)) worst = std::isnan(err) ? INFINITY : err;
    }
  }
  return worst;
}

std::vector<bench::GemmShape> check_shapes() {
  std::vector<bench::GemmShape> shapes(std::begin(bench::kStepShapes), std::end(bench::kStepShapes));
  // The MLP's latent heads (400 to 20): products small enough for OpenBLAS's small-matrix kernels.
  shapes.push_back({"mlp head fwd", false, false, 128, 20, 400});
  shapes.push_back({"mlp head wgrad", true, false, 400, 20, 128});
  shapes.push_back({"mlp head dgrad", false, true, 128, 400, 20});
  for (bench::GemmShape& s : shapes) {
    const bool wgrad = std::strstr(s.what, "wgrad") != nullptr;  // there the batch is k
    (wgrad ? s.k : s.m) = std::min(wgrad ? s.k : s.m, kBatchRows);
    s.m = std::min(s.m, kMaxWidth);
    s.n = std::min(s.n, kMaxWidth);
    s.k = std::min(s.k, kMaxWidth);
  }
  return shapes;
}

// Replaces the process by itself with OPENBLAS_CORETYPE=core; returns only when that failed.
void restart(std::string_view program, char** argv, const std::string& reason, const std::string& core) {
  fmt::print(stderr, "{}: {}; restarting with OPENBLAS_CORETYPE={}\n", program, reason, core);
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::setenv("VAEKIT_BLAS_RESTART", reason.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  fmt::print(stderr, "{}: cannot restart ({}); running on with the kernels as they are\n", program,
             std::strerror(errno));
  ::unsetenv("VAEKIT_BLAS_RESTART");
}

}  // namespace

KernelCheck check_blas_kernels(std::string_view running) {
  const auto start = std::chrono::steady_clock::now();
  const char* fail = std::getenv("VAEKIT_BLAS_CHECK_FAIL");  // the test hook
  const bool plant = fail && listed(fail, running);
  std::mt19937 gen(21);
  Scratch scratch;
  KernelCheck r;
  for (const bench::GemmShape& s : check_shapes()) {
    // The backward products accumulate into gradients (beta = 1), as the step's do.
    const bool backward = std::strstr(s.what, "grad") != nullptr;
    const double err = product_error(s, backward ? 1.f : 0.f, gen, scratch, plant && r.products == 0);
    if (r.products++ == 0 || err > r.max_relative_error) {
      r.max_relative_error = err;
      r.worst_product = s.what;
    }
  }
  r.passed = r.max_relative_error <= kTolerance;
  r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void choose_blas_kernels(std::string_view program, char** argv) {
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const char* ours = std::getenv("VAEKIT_BLAS_RESTART");
  if (set && !ours) {
    chosen_by = "environment";
    return;
  }
  const std::string running = blas::core_name();
  std::string from = running;  // where a fall-back goes down from
  if (set) {
    chosen_by = "vaekit";
    restart_reason = ours;
    from = set;  // the family asked for, so that the fall-back ends even if OpenBLAS ignored it
  } else {
    chosen_by = "library";
    // Lets a test play a machine whose OpenBLAS misreads its CPU (tests/test_programs.sh).
    const char* pretend = std::getenv("VAEKIT_BLAS_CORE_CHOSEN");
    const std::string chosen = pretend ? pretend : running;
    const std::string better = blas::better_core(chosen, blas::host_features());
    if (!better.empty())
      restart(program, argv,
              fmt::format("OpenBLAS chose its {} kernels on a CPU with {}", chosen,
                          better == "SkylakeX" ? "AVX-512" : "AVX2 and FMA"),
              better);
  }
  last_check = check_blas_kernels(running);
  checked = true;
  if (last_check.passed) return;
  const std::string reason =
      fmt::format("OpenBLAS's {} kernels disagree with a double-precision reference product ({:.2g} relative "
                  "error in {})", running, last_check.max_relative_error, last_check.worst_product);
  const std::string weaker = blas::weaker_core(from);
  if (!weaker.empty()) restart(program, argv, reason, weaker);
  else fmt::print(stderr, "{}: {}; no weaker kernels to fall back to: running on with them\n", program, reason);
}

nlohmann::json blas_json() {
  const std::string config = blas::config();  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..."
  std::istringstream words(config);
  std::string library, version;
  words >> library >> version;
  nlohmann::json j = {{"library", library}, {"version", version}, {"config", config}, {"core", blas::core_name()},
                      {"threads", parallel::threads()},
                      {"conv", conv_path() == ConvPath::onednn ? "onednn" : "im2col"}};  // VAEKIT_CONV
  const std::string by = !chosen_by.empty() ? chosen_by : std::getenv("OPENBLAS_CORETYPE") ? "environment" : "library";
  j["core_chosen_by"] = by;
  if (!restart_reason.empty()) j["restart"] = restart_reason;
  if (checked)
    j["check"] = {{"ran", true},
                  {"passed", last_check.passed},
                  {"products", last_check.products},
                  {"max_relative_error", last_check.max_relative_error},
                  {"worst_product", last_check.worst_product},
                  {"ms", last_check.ms}};
  else
    j["check"] = {{"ran", false},
                  {"why", by == "environment" ? "OPENBLAS_CORETYPE was set by the environment"
                                                     : "this program does not check its kernels"}};
  return j;
}

}  // namespace vk::support
