#include "experiments/claims/linalg.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>

namespace vk::claims {
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

std::vector<double> singular_values(const std::vector<double>& m, std::size_t rows, std::size_t cols) {
  const auto usv = xt::linalg::svd(matrix(m, rows, cols, "singular_values"), false, false);
  return descending(std::get<1>(usv));
}

}  // namespace vk::claims
