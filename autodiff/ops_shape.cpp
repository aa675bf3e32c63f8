// Joining and cutting along the feature axis (columns): the label of a CVAE, the two heads of
// an encoder. Row-major columns are not contiguous, so each is one strided copy. A reshape keeps
// the row-major order and copies nothing.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {

template <class T>
Var<T> concat_cols(Var<T> a, Var<T> b) {
  if (a.rows() != b.rows())
    throw std::invalid_argument(fmt::format("concat_cols: [{}x{}] and [{}x{}] differ in rows",
                                            a.rows(), a.cols(), b.rows(), b.cols()));
  const std::size_t m = a.rows(), na = a.cols(), nb = b.cols(), n = na + nb;
  Var<T> y = a.tape->template push<Op::concat_cols>({a, b}, m, n);
  const T* pa = a.node().value;
  const T* pb = b.node().value;
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i) {
    std::copy(pa + i * na, pa + (i + 1) * na, out + i * n);
    std::copy(pb + i * nb, pb + (i + 1) * nb, out + i * n + na);
  }
  return y;
}

template <class T>
Var<T> slice_cols(Var<T> x, std::size_t begin, std::size_t end) {
  if (begin >= end || end > x.cols())
    throw std::invalid_argument(fmt::format("slice_cols: columns [{}, {}) of a [{}x{}] matrix",
                                            begin, end, x.rows(), x.cols()));
  const std::size_t m = x.rows(), n = x.cols(), w = end - begin;
  Var<T> y = x.tape->template push<Op::slice_cols>({x}, m, w, SliceParams{std::uint32_t(begin)});
  const T* in = x.node().value;
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i) std::copy(in + i * n + begin, in + i * n + end, out + i * w);
  return y;
}

template <class T>
std::pair<Var<T>, Var<T>> split_cols(Var<T> x, std::size_t at) {
  return {slice_cols(x, 0, at), slice_cols(x, at, x.cols())};
}

template <class T>
Var<T> reshape(Var<T> x, std::size_t rows, std::size_t cols) {
  if (rows * cols != x.rows() * x.cols())
    throw std::invalid_argument(fmt::format("reshape: [{}x{}] has {} elements, not {}", x.rows(), x.cols(),
                                            x.rows() * x.cols(), rows * cols));
  return x.tape->alias(Op::reshape, x, rows, cols);
}

template <class T>
Var<T> tile_rows(Var<T> x, std::size_t times) {
  if (times == 0) throw std::invalid_argument("tile_rows: times must be at least 1");
  const std::size_t size = x.rows() * x.cols();
  Var<T> y = x.tape->template push<Op::tile_rows>({x}, times * x.rows(), x.cols(), TileParams{std::uint32_t(times)});
  const T* in = x.node().value;
  for (std::size_t s = 0; s < times; ++s) std::copy(in, in + size, y.node().value + s * size);
  return y;
}

template <class T>
Var<T> permute_cols(Var<T> x, std::span<const std::uint32_t> order) {
  const std::size_t m = x.rows(), n = x.cols();
  std::vector<bool> seen(n, false);
  bool valid = order.size() == n;
  for (std::size_t j = 0; valid && j < n; ++j) {
    valid = order[j] < n && !seen[order[j]];
    if (valid) seen[order[j]] = true;
  }
  if (!valid)
    throw std::invalid_argument(fmt::format("permute_cols: the order is not a permutation of the {} columns", n));
  Var<T> y = x.tape->template push<Op::permute_cols>({x}, m, n, PermuteParams{order.data()});
  const T* in = x.node().value;
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[i * n + j] = in[i * n + order[j]];
  return y;
}

template <class T>
Var<T> tile_pixels(Var<T> x, std::size_t pixels) {
  if (pixels == 0) throw std::invalid_argument("tile_pixels: an image has at least one pixel");
  const std::size_t m = x.rows(), c = x.cols();
  Var<T> y = x.tape->template push<Op::tile_pixels>({x}, m, pixels * c);
  const T* in = x.node().value;
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < pixels; ++p) std::copy(in + i * c, in + (i + 1) * c, out + (i * pixels + p) * c);
  return y;
}

template <class T>
Var<T> concat_channels(Var<T> a, Var<T> b, std::size_t pixels) {
  if (pixels == 0 || a.rows() != b.rows() || a.cols() % pixels || b.cols() % pixels)
    throw std::invalid_argument(fmt::format("concat_channels: [{}x{}] and [{}x{}] are not two batches of {} pixels",
                                            a.rows(), a.cols(), b.rows(), b.cols(), pixels));
  const std::size_t m = a.rows();
  Var<T> joined = concat_cols(reshape(a, m * pixels, a.cols() / pixels), reshape(b, m * pixels, b.cols() / pixels));
  return reshape(joined, m, a.cols() + b.cols());
}

namespace detail {

template <class T>
void backward_tile_pixels(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  const std::size_t m = x.rows, c = x.cols, pixels = y.cols / c;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < pixels; ++p) {
      const T* g = y.grad + (i * pixels + p) * c;
      for (std::size_t j = 0; j < c; ++j) x.grad[i * c + j] += g[j];
    }
}

template <class T>
void backward_concat_cols(Tape<T>& t, const Node<T>& y) {
  const Node<T>& a = t.node(y.in[0]);
  const Node<T>& b = t.node(y.in[1]);
  const std::size_t m = y.rows, n = y.cols, na = a.cols, nb = b.cols;
  for (std::size_t i = 0; i < m; ++i) {
    const T* g = y.grad + i * n;
    if (a.grad)
      for (std::size_t j = 0; j < na; ++j) a.grad[i * na + j] += g[j];
    if (b.grad)
      for (std::size_t j = 0; j < nb; ++j) b.grad[i * nb + j] += g[na + j];
  }
}

template <class T>
void backward_slice_cols(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  const std::size_t m = y.rows, w = y.cols, n = x.cols, begin = params<Op::slice_cols>(y).begin;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < w; ++j) x.grad[i * n + begin + j] += y.grad[i * w + j];
}

template <class T>
void backward_tile_rows(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  const std::size_t size = x.size(), times = params<Op::tile_rows>(y).times;
  for (std::size_t s = 0; s < times; ++s)
    for (std::size_t e = 0; e < size; ++e) x.grad[e] += y.grad[s * size + e];
}

template <class T>
void backward_permute_cols(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  if (!x.grad) return;
  const std::uint32_t* order = params<Op::permute_cols>(y).order;
  const std::size_t m = y.rows, n = y.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) x.grad[i * n + order[j]] += y.grad[i * n + j];
}

// The reshaped node shares its input's gradient storage: what flowed into it is already there.
template <class T>
void backward_reshape(Tape<T>&, const Node<T>&) {}

}  // namespace detail

#define VK_SHAPE(T)                                                      \
  template Var<T> concat_cols(Var<T>, Var<T>);                           \
  template Var<T> slice_cols(Var<T>, std::size_t, std::size_t);          \
  template std::pair<Var<T>, Var<T>> split_cols(Var<T>, std::size_t);    \
  template Var<T> reshape(Var<T>, std::size_t, std::size_t);                 \
  template Var<T> tile_rows(Var<T>, std::size_t);                        \
  template Var<T> permute_cols(Var<T>, std::span<const std::uint32_t>);    \
  template Var<T> tile_pixels(Var<T>, std::size_t);                      \
  template Var<T> concat_channels(Var<T>, Var<T>, std::size_t);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_SHAPE)
VK_OPS_SHAPE(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
