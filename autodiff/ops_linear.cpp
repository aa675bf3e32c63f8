// Matrix products through BLAS. Weights are [in, out], so forward is X·W and both backward
// products pass a transpose flag to GEMM instead of materialising a transposed copy.
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {

template <class T>
Var<T> matmul(Var<T> a, Var<T> b) {
  if (a.cols() != b.rows())
    throw std::invalid_argument(fmt::format("matmul: [{}x{}]·[{}x{}] do not fit", a.rows(),
                                            a.cols(), b.rows(), b.cols()));
  const std::size_t m = a.rows(), k = a.cols(), n = b.cols();
  Var<T> c = a.tape->template push<Op::matmul>({a, b}, m, n);
  blas::gemm<T>(false, false, m, n, k, T(1), a.node().value, k, b.node().value, n, T(0),
                c.node().value, n);
  return c;
}

template <class T>
Var<T> linear(Var<T> x, Var<T> w, Var<T> b) {
  if (x.cols() != w.rows() || b.rows() != 1 || b.cols() != w.cols())
    throw std::invalid_argument(fmt::format("linear: x [{}x{}], w [{}x{}], b [{}x{}] do not fit",
                                            x.rows(), x.cols(), w.rows(), w.cols(), b.rows(),
                                            b.cols()));
  const std::size_t m = x.rows(), k = x.cols(), n = w.cols();
  Var<T> y = x.tape->template push<Op::linear>({x, w, b}, m, n);
  T* out = y.node().value;
  const T* bias = b.node().value;
  for (std::size_t i = 0; i < m; ++i) std::copy(bias, bias + n, out + i * n);
  blas::gemm<T>(false, false, m, n, k, T(1), x.node().value, k, w.node().value, n, T(1), out, n);
  return y;
}

namespace detail {

template <class T>
void backward_matmul(Tape<T>& t, const Node<T>& c) {
  const Node<T>& a = t.node(c.in[0]);
  const Node<T>& b = t.node(c.in[1]);
  const std::size_t m = a.rows, k = a.cols, n = b.cols;
  if (a.grad) blas::gemm<T>(false, true, m, k, n, T(1), c.grad, n, b.value, n, T(1), a.grad, k);
  if (b.grad) blas::gemm<T>(true, false, k, n, m, T(1), a.value, k, c.grad, n, T(1), b.grad, n);
}

template <class T>
void backward_linear(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  const Node<T>& w = t.node(y.in[1]);
  const Node<T>& b = t.node(y.in[2]);
  const std::size_t m = x.rows, k = x.cols, n = w.cols;
  if (x.grad) blas::gemm<T>(false, true, m, k, n, T(1), y.grad, n, w.value, n, T(1), x.grad, k);
  if (w.grad) blas::gemm<T>(true, false, k, n, m, T(1), x.value, k, y.grad, n, T(1), w.grad, n);
  if (b.grad) {
    for (std::size_t i = 0; i < m; ++i) {
      const T* row = y.grad + i * n;
      for (std::size_t j = 0; j < n; ++j) b.grad[j] += row[j];
    }
  }
}

}  // namespace detail

#define VK_LINEAR(T)                          \
  template Var<T> matmul(Var<T>, Var<T>);     \
  template Var<T> linear(Var<T>, Var<T>, Var<T>);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_LINEAR)
VK_OPS_LINEAR(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
