// Convolutions as im2col (or col2im) plus one GEMM over the whole batch. Images are channels
// last, so the rows (b, oh, ow) of the GEMM's output are already the output image's memory, and
// weights are [in, out] as for linear: no transposed or permuted copy is ever made. The im2col
// buffer of conv2d is kept on the tape (a constant input of the node) for the weight gradient;
// the other column buffers are arena scratch, so a step still allocates nothing after the first.
// In single precision oneDNN's primitives may run them instead (ConvPath, conv_onednn.hpp).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "autodiff/conv_onednn.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {
namespace {

#if defined(VK_CONV_ONEDNN)
constexpr bool kOnednnBuilt = true;
#else
constexpr bool kOnednnBuilt = false;
#endif
// Where the blocks guarded by it are discarded, nothing of conv_onednn.cpp is linked.
template <class T>
constexpr bool kOnednnType = kOnednnBuilt && std::is_same_v<T, float>;

ConvPath& path() {
  static ConvPath p = [] {
    const char* v = std::getenv("VAEKIT_CONV");
    if (!v || !*v || !std::strcmp(v, "im2col")) return ConvPath::im2col;
    if (!std::strcmp(v, "onednn") && kOnednnBuilt) return ConvPath::onednn;
    throw std::invalid_argument(fmt::format("VAEKIT_CONV={}: im2col{} expected", v,
                                            kOnednnBuilt ? " or onednn" : " (built without oneDNN)"));
  }();
  return p;
}

// Visits every (im2col row, patch slot) pair: f(col_offset, image_offset) where the slot reads
// `channels` contiguous values inside the large image, zero_padding(col_offset) where it falls on
// the padding.
template <class F, class Z>
void for_each_patch(const ConvParams& g, std::size_t batch, F f, Z zero_padding) {
  const std::ptrdiff_t h = g.height, w = g.width, k = g.kernel, s = g.stride, p = g.padding;
  const std::size_t c = g.channels, patch = g.patch(), image = g.large_size();
  std::size_t row = 0;
  for (std::size_t b = 0; b < batch; ++b)
    for (std::ptrdiff_t oh = 0; oh < std::ptrdiff_t(g.out_height); ++oh)
      for (std::ptrdiff_t ow = 0; ow < std::ptrdiff_t(g.out_width); ++ow, ++row)
        for (std::ptrdiff_t kh = 0; kh < k; ++kh) {
          const std::ptrdiff_t ih = oh * s + kh - p;
          for (std::ptrdiff_t kw = 0; kw < k; ++kw) {
            const std::ptrdiff_t iw = ow * s + kw - p;
            const std::size_t at = row * patch + std::size_t(kh * k + kw) * c;
            if (ih < 0 || ih >= h || iw < 0 || iw >= w)
              zero_padding(at);
            else
              f(at, b * image + std::size_t(ih * w + iw) * c);
          }
        }
}

// col [batch * positions, patch] = the patches of x [batch, large_size].
template <class T>
void im2col(const ConvParams& g, std::size_t batch, const T* x, T* col) {
  const std::size_t c = g.channels;
  for_each_patch(
      g, batch, [&](std::size_t at, std::size_t from) { std::copy(x + from, x + from + c, col + at); },
      [&](std::size_t at) { std::fill(col + at, col + at + c, T(0)); });
}

// x += the patches of col put back where im2col took them (overlaps add up): im2col's adjoint.
template <class T>
void col2im_add(const ConvParams& g, std::size_t batch, const T* col, T* x) {
  const std::size_t c = g.channels;
  for_each_patch(
      g, batch,
      [&](std::size_t at, std::size_t to) {
        for (std::size_t e = 0; e < c; ++e) x[to + e] += col[at + e];
      },
      [](std::size_t) {});
}

// bias [1, n] summed over the rows of g [rows, n] into grad.
template <class T>
void add_column_sums(const T* g, std::size_t rows, std::size_t n, T* grad) {
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < n; ++j) grad[j] += g[i * n + j];
}

void check_geometry(const char* op, const ConvParams& g) {
  const ConvParams expected = conv_geometry(g.height, g.width, g.channels, g.out_channels, g.kernel,
                                            g.stride, g.padding);
  if (g.kernel == 0 || g.stride == 0 || g.channels == 0 || g.out_channels == 0 || g.out_height == 0 ||
      g.out_width == 0 || g.out_height != expected.out_height || g.out_width != expected.out_width)
    throw std::invalid_argument(fmt::format(
        "{}: kernel {} stride {} padding {} does not map a {}x{}x{} image to {}x{}x{}", op, g.kernel,
        g.stride, g.padding, g.height, g.width, g.channels, g.out_height, g.out_width, g.out_channels));
}

template <class T>
void check_shape(const char* op, const char* what, Var<T> v, std::size_t rows, std::size_t cols) {
  if (v.rows() != rows || v.cols() != cols)
    throw std::invalid_argument(fmt::format("{}: {} is [{}x{}], the geometry needs [{}x{}]", op, what,
                                            v.rows(), v.cols(), rows, cols));
}

// The input, weight and bias shapes of conv2d (transposed: of conv_transpose2d) for geometry g.
template <class T>
void check_arguments(bool transposed, Var<T> x, Var<T> w, Var<T> b, const ConvParams& g) {
  const char* op = transposed ? "conv_transpose2d" : "conv2d";
  check_geometry(op, g);
  check_shape(op, "the input", x, x.rows(), transposed ? g.small_size() : g.large_size());
  check_shape(op, "the weight", w, transposed ? g.out_channels : g.patch(), transposed ? g.patch() : g.out_channels);
  check_shape(op, "the bias", b, 1, transposed ? g.channels : g.out_channels);
}

}  // namespace

bool onednn_convolutions_built() { return kOnednnBuilt; }
ConvPath conv_path() { return path(); }
void set_conv_path(ConvPath p) {
  if (p == ConvPath::onednn && !kOnednnBuilt)
    throw std::invalid_argument("oneDNN's convolutions are not built in (libdnnl-dev was missing at meson setup)");
  path() = p;
}

template <class T>
Var<T> conv2d(Var<T> x, Var<T> w, Var<T> b, const ConvParams& g) {
  check_arguments(false, x, w, b, g);
  const std::size_t batch = x.rows(), rows = batch * g.positions(), patch = g.patch(), n = g.out_channels;
  Tape<T>& tape = *x.tape;
  if constexpr (kOnednnType<T>)
    if (path() == ConvPath::onednn) {  // no im2col buffer: backward reads x, and knows by the 3 inputs
      Var<T> y = tape.template push<Op::conv2d>({x, w, b}, batch, g.small_size(), g);
      onednn::conv_forward(false, g, batch, x.node().value, w.node().value, b.node().value, y.node().value);
      return y;
    }
  Var<T> col = tape.constant_uninitialized(rows, patch);
  im2col(g, batch, x.node().value, col.node().value);
  Var<T> y = tape.template push<Op::conv2d>({x, w, b, col}, batch, g.small_size(), g);
  T* out = y.node().value;
  const T* bias = b.node().value;
  for (std::size_t r = 0; r < rows; ++r) std::copy(bias, bias + n, out + r * n);
  blas::gemm<T>(false, false, rows, n, patch, T(1), col.node().value, patch, w.node().value, n, T(1), out, n);
  return y;
}

template <class T>
Var<T> conv_transpose2d(Var<T> x, Var<T> w, Var<T> b, const ConvParams& g) {
  check_arguments(true, x, w, b, g);
  const std::size_t batch = x.rows(), rows = batch * g.positions(), patch = g.patch(), n = g.out_channels;
  Tape<T>& tape = *x.tape;
  Var<T> y = tape.template push<Op::conv_transpose2d>({x, w, b}, batch, g.large_size(), g);
  if constexpr (kOnednnType<T>)
    // Into a 1-channel image oneDNN's deconvolution lost to im2col (bench/conv-bench: 0.32-0.38x).
    if (path() == ConvPath::onednn && g.channels > 1) {
      onednn::conv_forward(true, g, batch, x.node().value, w.node().value, b.node().value, y.node().value);
      return y;
    }
  T* col = tape.scratch(rows * patch);
  blas::gemm<T>(false, false, rows, patch, n, T(1), x.node().value, n, w.node().value, patch, T(0), col, patch);
  T* out = y.node().value;
  std::fill(out, out + y.node().size(), T(0));
  col2im_add(g, batch, col, out);
  const T* bias = b.node().value;
  const std::size_t c = g.channels, pixels = batch * g.height * g.width;
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t e = 0; e < c; ++e) out[p * c + e] += bias[e];
  return y;
}

namespace detail {

template <class T>
void backward_conv2d(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  const Node<T>& w = t.node(y.in[1]);
  const Node<T>& b = t.node(y.in[2]);
  const ConvParams& g = params<Op::conv2d>(y);
  const std::size_t batch = y.rows, rows = batch * g.positions(), patch = g.patch(), n = g.out_channels;
  if constexpr (kOnednnType<T>)
    if (y.n_in == 3) {
      if (x.grad) onednn::conv_backward_data(false, g, batch, y.grad, w.value, x.grad, t.scratch(batch * g.large_size()));
      if (w.grad || b.grad) onednn::conv_backward_weights(false, g, batch, x.value, y.grad, w.grad, b.grad);
      return;
    }
  const Node<T>& col = t.node(y.in[3]);
  if (w.grad) blas::gemm<T>(true, false, patch, n, rows, T(1), col.value, patch, y.grad, n, T(1), w.grad, n);
  if (b.grad) add_column_sums(y.grad, rows, n, b.grad);
  if (x.grad) {
    T* dcol = t.scratch(rows * patch);
    blas::gemm<T>(false, true, rows, patch, n, T(1), y.grad, n, w.value, n, T(0), dcol, patch);
    col2im_add(g, batch, dcol, x.grad);
  }
}

template <class T>
void backward_conv_transpose2d(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  const Node<T>& w = t.node(y.in[1]);
  const Node<T>& b = t.node(y.in[2]);
  const ConvParams& g = params<Op::conv_transpose2d>(y);
  const std::size_t batch = y.rows, rows = batch * g.positions(), patch = g.patch(), n = g.out_channels;
  if constexpr (kOnednnType<T>)
    if (path() == ConvPath::onednn) {
      if (x.grad) onednn::conv_backward_data(true, g, batch, y.grad, w.value, x.grad, t.scratch(batch * g.small_size()));
      if (w.grad || b.grad) onednn::conv_backward_weights(true, g, batch, x.value, y.grad, w.grad, b.grad);
      return;
    }
  if (b.grad) add_column_sums(y.grad, batch * g.height * g.width, g.channels, b.grad);
  if (!x.grad && !w.grad) return;
  T* gcol = t.scratch(rows * patch);
  im2col(g, batch, y.grad, gcol);
  if (x.grad) blas::gemm<T>(false, true, rows, n, patch, T(1), gcol, patch, w.value, patch, T(1), x.grad, n);
  if (w.grad) blas::gemm<T>(true, false, n, patch, rows, T(1), x.value, n, gcol, patch, T(1), w.grad, patch);
}

}  // namespace detail

#define VK_CONV(T)                                                          \
  template Var<T> conv2d(Var<T>, Var<T>, Var<T>, const ConvParams&);        \
  template Var<T> conv_transpose2d(Var<T>, Var<T>, Var<T>, const ConvParams&);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_CONV)
VK_OPS_CONV(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
