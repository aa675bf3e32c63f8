// Sums, means and log-sum-exp over the whole matrix or one axis. Plain loops over contiguous
// rows: measured far faster than xtensor's lazy axis reductions (shared/XTENSOR.md).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {
namespace {

Axis checked_axis(const char* op, int axis) {
  if (axis != 0 && axis != 1)
    throw std::invalid_argument(fmt::format("{}: axis must be 0 or 1, got {}", op, axis));
  return Axis(axis);
}

// [m,n] reduced over `axis` -> its output shape.
std::pair<std::size_t, std::size_t> reduced_shape(std::size_t m, std::size_t n, Axis axis) {
  if (axis == Axis::rows) return {1, n};
  if (axis == Axis::columns) return {m, 1};
  return {1, 1};
}

// Where element (i, j) lands in the reduced output.
std::size_t reduced_index(Axis axis, std::size_t i, std::size_t j) {
  return axis == Axis::rows ? j : axis == Axis::columns ? i : 0;
}

template <class T>
Var<T> scaled_sum(Var<T> x, Axis axis, T factor) {
  const std::size_t m = x.rows(), n = x.cols();
  auto [rows, cols] = reduced_shape(m, n, axis);
  Var<T> y = x.tape->template push<Op::sum>({x}, rows, cols, SumParams{axis, double(factor)});
  const T* in = x.node().value;
  T* out = y.node().value;
  std::fill(out, out + rows * cols, T(0));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[reduced_index(axis, i, j)] += in[i * n + j];
  for (std::size_t k = 0; k < rows * cols; ++k) out[k] *= factor;
  return y;
}

}  // namespace

template <class T>
Var<T> sum(Var<T> x) { return scaled_sum(x, Axis::all, T(1)); }
template <class T>
Var<T> sum(Var<T> x, int axis) { return scaled_sum(x, checked_axis("sum", axis), T(1)); }
template <class T>
Var<T> mean(Var<T> x) { return scaled_sum(x, Axis::all, T(1) / T(x.rows() * x.cols())); }
template <class T>
Var<T> mean(Var<T> x, int axis) {
  return scaled_sum(x, checked_axis("mean", axis), T(1) / T(axis == 0 ? x.rows() : x.cols()));
}

template <class T>
Var<T> logsumexp(Var<T> x, int axis) {
  const Axis along = checked_axis("logsumexp", axis);
  const std::size_t m = x.rows(), n = x.cols();
  auto [rows, cols] = reduced_shape(m, n, along);
  Var<T> y = x.tape->template push<Op::logsumexp>({x}, rows, cols, LogsumexpParams{along});
  const T* in = x.node().value;
  T* out = y.node().value;
  // Element (i, j) of the k-th reduced group: groups are rows (axis 1) or columns (axis 0).
  const std::size_t groups = axis == 1 ? m : n, len = axis == 1 ? n : m;
  const std::size_t group_stride = axis == 1 ? n : 1, elem_stride = axis == 1 ? 1 : n;
  for (std::size_t g = 0; g < groups; ++g) {
    const T* p = in + g * group_stride;
    T top = -std::numeric_limits<T>::infinity();
    for (std::size_t e = 0; e < len; ++e) top = std::max(top, p[e * elem_stride]);
    if (std::isinf(top)) {
      out[g] = top;  // all -inf (log 0) or some +inf: the sum is that value
      continue;
    }
    T s = 0;
    for (std::size_t e = 0; e < len; ++e) s += std::exp(p[e * elem_stride] - top);
    out[g] = top + std::log(s);
  }
  return y;
}

namespace detail {

template <class T>
void backward_sum(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  const SumParams& p = params<Op::sum>(y);
  const T factor = T(p.factor);
  const std::size_t m = x.rows, n = x.cols;
  for (std::size_t i = 0; i < m; ++i) {
    T* gx = x.grad + i * n;
    for (std::size_t j = 0; j < n; ++j) gx[j] += factor * y.grad[reduced_index(p.axis, i, j)];
  }
}

template <class T>
void backward_logsumexp(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  // d logsumexp / dx_e = softmax_e = exp(x_e - y).
  const Axis axis = params<Op::logsumexp>(y).axis;
  const std::size_t m = x.rows, n = x.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t g = reduced_index(axis, i, j);
      if (std::isinf(y.value[g])) continue;
      x.grad[i * n + j] += y.grad[g] * std::exp(x.value[i * n + j] - y.value[g]);
    }
}

}  // namespace detail

#define VK_REDUCE(T)                        \
  template Var<T> sum(Var<T>);              \
  template Var<T> sum(Var<T>, int);         \
  template Var<T> mean(Var<T>);             \
  template Var<T> mean(Var<T>, int);        \
  template Var<T> logsumexp(Var<T>, int);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_REDUCE)
VK_OPS_REDUCE(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
