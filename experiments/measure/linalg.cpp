#include "experiments/measure/linalg.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>

namespace vk::measure {
namespace {

auto matrix(const std::vector<double>& a, std::size_t rows, std::size_t cols, const char* what) {
  if (rows == 0 || cols == 0 || a.size() != rows * cols)
    throw std::invalid_argument(fmt::format("{}: {} values do not make a {} x {} matrix", what, a.size(), rows, cols));
  return xt::adapt(a.data(), a.size(), xt::no_ownership(), std::array<std::size_t, 2>{rows, cols});
}

template <class E>
std::vector<double> descending(const E& values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end(), std::greater<>());
  return v;
}

}  // namespace

std::vector<double> symmetric_eigenvalues(const std::vector<double>& a, std::size_t n) {
  return descending(xt::linalg::eigvalsh(matrix(a, n, n, "symmetric_eigenvalues")));
}

SymmetricEigen symmetric_eigen(const std::vector<double>& a, std::size_t n) {
  const auto [w, v] = xt::linalg::eigh(matrix(a, n, n, "symmetric_eigen"));
  SymmetricEigen out{std::vector<double>(w.begin(), w.end()), std::vector<double>(n * n)};
  // Element by element: v is column-major, as LAPACK writes it.
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < n; ++k) out.vectors[i * n + k] = v(i, k);
  return out;
}

std::vector<double> singular_values(const std::vector<double>& m, std::size_t rows, std::size_t cols) {
  const auto usv = xt::linalg::svd(matrix(m, rows, cols, "singular_values"), false, false);
  return descending(std::get<1>(usv));
}

}  // namespace vk::measure
