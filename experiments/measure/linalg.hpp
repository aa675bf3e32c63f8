// Eigenvalues, eigenvectors and singular values from LAPACK through xtensor-blas. Its headers are
// heavy and do not compile in one file with <cblas.h>, so linalg.cpp is the one translation unit
// that includes them (a library of its own, outside the unity build).
#pragma once

#include <cstddef>
#include <vector>

namespace vk::measure {

// Eigenvalues of the symmetric n x n row-major matrix a, descending (LAPACK dsyevd).
std::vector<double> symmetric_eigenvalues(const std::vector<double>& a, std::size_t n);

// a = V diag(values) V^T for a symmetric n x n row-major a (LAPACK dsyevd): values ascending, as
// LAPACK orders them, and V row-major with eigenvector k in column k.
struct SymmetricEigen {
  std::vector<double> values;
  std::vector<double> vectors;
};
SymmetricEigen symmetric_eigen(const std::vector<double>& a, std::size_t n);

// Singular values of the rows x cols row-major matrix m, descending (LAPACK dgesdd on m itself, so
// a small singular value keeps its relative accuracy: through eig(m^T m) it would be lost below
// sqrt(machine epsilon) times the largest).
std::vector<double> singular_values(const std::vector<double>& m, std::size_t rows, std::size_t cols);

}  // namespace vk::measure
