// Convolutions as im2col (or col2im) plus one GEMM over the whole batch (conv_gemm, which reads
// the large operand where it lies: gemm_conv.hpp). Images are channels
// last, so the rows (b, oh, ow) of the GEMM's output are already the output image's memory, and
// weights are [in, out] as for linear: no transposed or permuted copy is ever made. The column
// matrices are never whole in memory where conv_gemm runs the products: each is made (im2col) or
// consumed (col2im) a block of rows at a time in a buffer of the thread's, grown once, so a step
// still allocates nothing after the first. Under --precision bf16 (blas::gemm's products) conv2d's
// im2col matrix is kept on the tape (the node's 4th input) for the weight gradient, the others are
// arena scratch.
// In single precision oneDNN's primitives may run them instead (ConvPath, conv_onednn.hpp).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <xsimd/xsimd.hpp>

#include "autodiff/blas.hpp"
#include "autodiff/conv_onednn.hpp"
#include "autodiff/gemm_conv.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/parallel.hpp"

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

// Visits every (im2col row, kernel row) pair of rows [r0, r1): run(col_offset, image_offset,
// length) for the kernel columns inside the image, which read one contiguous run of the
// channels-last image (consecutive kernel columns are consecutive pixels whatever the stride),
// pad(col_offset, length) for those on the padding. Column offsets count from row `first`.
template <class F, class Z>
void for_each_run(const ConvParams& g, std::size_t r0, std::size_t r1, std::size_t first, F run, Z pad) {
  const std::ptrdiff_t h = g.height, w = g.width, k = g.kernel, s = g.stride, p = g.padding;
  const std::size_t c = g.channels, patch = g.patch(), image = g.large_size(), kc = std::size_t(k) * c;
  const std::size_t positions = g.positions(), ow_count = g.out_width;
  for (std::size_t row = r0; row < r1; ++row) {
    const std::size_t b = row / positions, at_row = (row - first) * patch;
    const std::ptrdiff_t oh = std::ptrdiff_t(row % positions / ow_count), ow = std::ptrdiff_t(row % ow_count);
    const std::ptrdiff_t iw = ow * s - p;  // of kernel column 0
    const std::size_t kw0 = std::size_t(std::clamp<std::ptrdiff_t>(-iw, 0, k));
    const std::size_t kw1 = std::size_t(std::clamp<std::ptrdiff_t>(w - iw, std::ptrdiff_t(kw0), k));
    for (std::ptrdiff_t kh = 0; kh < k; ++kh) {
      const std::ptrdiff_t ih = oh * s + kh - p;
      const std::size_t at = at_row + std::size_t(kh) * kc;
      if (ih < 0 || ih >= h) {
        pad(at, kc);
        continue;
      }
      if (kw0 > 0) pad(at, kw0 * c);
      if (kw1 > kw0) run(at + kw0 * c, b * image + std::size_t(ih * w + iw + std::ptrdiff_t(kw0)) * c, (kw1 - kw0) * c);
      if (kw1 < std::size_t(k)) pad(at + kw1 * c, (std::size_t(k) - kw1) * c);
    }
  }
}

// f(b0, b1) over the images of the batch, split over the pool when the work is large: images
// share no pixel, and each image's sums run in one order whatever the split.
template <class F>
void by_images(const ConvParams& g, std::size_t batch, F f) {
  if (parallel::threads() > 1 && batch > 1 && batch * g.positions() * g.patch() >= (std::size_t(1) << 18))
    parallel::for_parts(batch, [](void* c, std::size_t b0, std::size_t b1) { (*static_cast<F*>(c))(b0, b1); }, &f);
  else
    f(std::size_t(0), batch);
}

// Rows [r0, r1) of the im2col matrix, to col (row r0 at col). The runs are short (3 pixels of
// 32-64 channels): inline vector copies, where libc's memmove and memset spent 12% of the U-Net's
// step on calls.
template <class T>
void im2col_rows(const ConvParams& g, std::size_t r0, std::size_t r1, const T* x, T* col) {
  using B = xsimd::batch<T>;
  // The image row after a run's is the next rows' (stride 1): fetched ahead, since the copies
  // otherwise waited on the image's first reads.
  const std::size_t ahead = std::size_t(g.width) * g.channels * g.stride;
  for_each_run(
      g, r0, r1, r0,
      [x, col, ahead](std::size_t at, std::size_t from, std::size_t n) {
        const T* src = x + from;
        T* dst = col + at;
        std::size_t e = 0;
        for (; e + B::size <= n; e += B::size) {
          __builtin_prefetch(src + e + ahead);
          B::load_unaligned(src + e).store_unaligned(dst + e);
        }
        for (; e < n; ++e) dst[e] = src[e];
      },
      [col](std::size_t at, std::size_t n) {
        T* dst = col + at;
        std::size_t e = 0;
        for (; e + B::size <= n; e += B::size) B(T(0)).store_unaligned(dst + e);
        for (; e < n; ++e) dst[e] = T(0);
      });
}

// col [batch * positions, patch] = the patches of x [batch, large_size].
template <class T>
void im2col(const ConvParams& g, std::size_t batch, const T* x, T* col) {
  by_images(g, batch, [&](std::size_t b0, std::size_t b1) {
    const std::size_t r0 = b0 * g.positions();
    im2col_rows(g, r0, b1 * g.positions(), x, col + r0 * g.patch());
  });
}

// x += rows [r0, r1) of col (col pointing at row r0) put back where im2col took them.
template <class T>
void col2im_rows_add(const ConvParams& g, std::size_t r0, std::size_t r1, const T* col, T* x) {
  for_each_run(
      g, r0, r1, r0,
      [&](std::size_t at, std::size_t to, std::size_t n) {
        using B = xsimd::batch<T>;
        const T* from = col + at;
        T* into = x + to;
        std::size_t e = 0;
        for (; e + B::size <= n; e += B::size)
          (B::load_unaligned(into + e) + B::load_unaligned(from + e)).store_unaligned(into + e);
        for (; e < n; ++e) into[e] += from[e];
      },
      [](std::size_t, std::size_t) {});
}

// x += the patches of col put back where im2col took them (overlaps add up): im2col's adjoint.
template <class T>
void col2im_add(const ConvParams& g, std::size_t batch, const T* col, T* x) {
  by_images(g, batch, [&](std::size_t b0, std::size_t b1) {
    col2im_rows_add(g, b0 * g.positions(), b1 * g.positions(), col + b0 * g.positions() * g.patch(), x);
  });
}

template <class T>
T* thread_buffer(std::size_t n) {
  thread_local std::vector<T> held;  // grown only when too small: no allocation after a first step
  if (held.size() < n) held.resize(n);
  return held.data();
}

// col2im_add(a [rows, k] * op(w) [k, patch]) without the column matrix (rows x patch, 115 MB for
// the U-Net's widest, written and read back from memory): its rows are computed a block at a
// time into a buffer of the thread's and put back at once, in row order as col2im_add adds them.
template <class T>
void product_col2im_add(const ConvParams& g, std::size_t batch, const T* a, std::size_t k, bool trans_w, const T* w,
                        std::size_t ldw, T* x) {
  const std::size_t patch = g.patch(), positions = g.positions();
  const T* packed = conv_gemm::pack<T>(trans_w, patch, k, w, ldw);
  const std::size_t tile = conv_gemm::block_rows<T>(patch);
  const std::size_t block = std::max<std::size_t>(1, 8192 / (patch * tile)) * tile;
  by_images(g, batch, [&](std::size_t b0, std::size_t b1) {
    T* rows = thread_buffer<T>(block * patch);
    for (std::size_t r = b0 * positions; r < b1 * positions; r += block) {
      const std::size_t end = std::min(b1 * positions, r + block);
      conv_gemm::rows<T>(end - r, patch, k, a + r * k, k, packed, false, rows, patch);
      col2im_rows_add(g, r, end, rows, x);
    }
  });
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

// out [rows, n] += im2col(x) * w [patch, n] without the im2col matrix (115 MB at the U-Net's
// widest, which took a tenth of its step to write and read back): a block of its rows at a time
// in a buffer of the thread's, each output element as the whole matrix's product gives it.
template <class T>
void im2col_product_add(const ConvParams& g, std::size_t batch, const T* x, bool trans_w, const T* w, std::size_t ldw,
                        std::size_t n, T* out) {
  const std::size_t patch = g.patch(), positions = g.positions();
  const T* packed = conv_gemm::pack<T>(trans_w, n, patch, w, ldw);
  const std::size_t tile = conv_gemm::block_rows<T>(n);
  const std::size_t block = std::max<std::size_t>(1, 16384 / (patch * tile)) * tile;
  by_images(g, batch, [&](std::size_t b0, std::size_t b1) {
    T* col = thread_buffer<T>(block * patch);
    for (std::size_t r = b0 * positions; r < b1 * positions; r += block) {
      const std::size_t end = std::min(b1 * positions, r + block);
      im2col_rows(g, r, end, x, col);
      conv_gemm::rows<T>(end - r, n, patch, col, patch, packed, true, out + r * n, n);
    }
  });
}

template <class T>
struct Made {
  const ConvParams* g;
  const T* x;
  static void fill(const void* c, std::size_t q0, std::size_t q1, T* rows) {
    const Made& m = *static_cast<const Made*>(c);
    im2col_rows(*m.g, q0, q1, m.x, rows);
  }
};

// w_grad [patch, n] += im2col(x)^T dy, the im2col matrix made a block of rows at a time.
template <class T>
void im2col_weight_grad(const ConvParams& g, std::size_t batch, const T* x, const T* dy, T* w_grad) {
  const Made<T> made{&g, x};
  const std::size_t n = g.out_channels;
  conv_gemm::gemm_made<T>(g.patch(), n, batch * g.positions(), &Made<T>::fill, &made, dy, n, true, w_grad, n);
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
  if (conv_gemm::own<T>()) {  // x as the 4th input: backward makes the im2col matrix again
    Var<T> y = tape.template push<Op::conv2d>({x, w, b, x}, batch, g.small_size(), g);
    T* out = y.node().value;
    const T* bias = b.node().value;
    for (std::size_t r = 0; r < rows; ++r) std::copy(bias, bias + n, out + r * n);
    im2col_product_add(g, batch, x.node().value, false, w.node().value, n, n, out);
    return y;
  }
  Var<T> col = tape.constant_uninitialized(rows, patch);
  im2col(g, batch, x.node().value, col.node().value);
  Var<T> y = tape.template push<Op::conv2d>({x, w, b, col}, batch, g.small_size(), g);
  T* out = y.node().value;
  const T* bias = b.node().value;
  for (std::size_t r = 0; r < rows; ++r) std::copy(bias, bias + n, out + r * n);
  conv_gemm::gemm<T>(false, false, rows, n, patch, col.node().value, patch, w.node().value, n, true, out, n);
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
  T* out = y.node().value;
  std::fill(out, out + y.node().size(), T(0));
  if (conv_gemm::own<T>()) {
    product_col2im_add(g, batch, x.node().value, n, false, w.node().value, patch, out);
  } else {
    T* col = tape.scratch(rows * patch);
    conv_gemm::gemm<T>(false, false, rows, patch, n, x.node().value, n, w.node().value, patch, false, col, patch);
    col2im_add(g, batch, col, out);
  }
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
  if (w.grad) {
    if (y.in[3] == y.in[0]) im2col_weight_grad(g, batch, x.value, y.grad, w.grad);
    else conv_gemm::gemm<T>(true, false, patch, n, rows, t.node(y.in[3]).value, patch, y.grad, n, true, w.grad, n);
  }
  if (b.grad) add_column_sums(y.grad, rows, n, b.grad);
  if (x.grad && conv_gemm::own<T>()) {
    product_col2im_add(g, batch, y.grad, n, true, w.value, n, x.grad);
  } else if (x.grad) {
    T* dcol = t.scratch(rows * patch);
    conv_gemm::gemm<T>(false, true, rows, patch, n, y.grad, n, w.value, n, false, dcol, patch);
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
  if (conv_gemm::own<T>()) {  // im2col(y.grad) made a block of rows at a time, as in conv2d
    if (x.grad) im2col_product_add(g, batch, y.grad, true, w.value, patch, n, x.grad);
    const Made<T> made{&g, y.grad};
    if (w.grad) conv_gemm::gemm_made_b<T>(n, patch, rows, x.value, n, &Made<T>::fill, &made, true, w.grad, patch);
    return;
  }
  T* gcol = t.scratch(rows * patch);
  im2col(g, batch, y.grad, gcol);
  if (x.grad) conv_gemm::gemm<T>(false, true, rows, n, patch, gcol, patch, w.value, patch, true, x.grad, n);
  if (w.grad) conv_gemm::gemm<T>(true, false, n, patch, rows, x.value, n, gcol, patch, true, w.grad, patch);
}

}  // namespace detail

#define VK_CONV(T)                                                          \
  template Var<T> conv2d(Var<T>, Var<T>, Var<T>, const ConvParams&);        \
  template Var<T> conv_transpose2d(Var<T>, Var<T>, Var<T>, const ConvParams&);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_CONV)
VK_OPS_CONV(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
