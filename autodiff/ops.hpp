// The differentiable ops. Each is one node on the tape; forward and backward of each live side
// by side in the ops_*.cpp files. All are instantiated for float (training) and double
// (gradient checks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "autodiff/tape.hpp"

namespace vk {

// --- linear algebra (ops_linear.cpp) ---
template <class T> Var<T> matmul(Var<T> a, Var<T> b);             // [m,k]·[k,n]
template <class T> Var<T> linear(Var<T> x, Var<T> w, Var<T> b);   // x·w + b, w [in,out], b [1,out]

// --- broadcasting arithmetic (ops_elementwise.cpp) ---
// Operands have equal shapes or 1 along an axis (a row [1,n], a column [m,1] or a scalar [1,1]).
template <class T> Var<T> add(Var<T> a, Var<T> b);
template <class T> Var<T> sub(Var<T> a, Var<T> b);
template <class T> Var<T> mul(Var<T> a, Var<T> b);
template <class T> Var<T> div(Var<T> a, Var<T> b);

// --- element-wise functions (ops_elementwise.cpp), one per VK_OPS_UNARY entry: scale(x, factor),
// exp, log, square, sqrt, softplus (log(1 + e^x), stable), sigmoid, tanh, relu,
// leaky_relu(x, slope = 0.01), elu(x, alpha = 1), swish (x sigmoid(x)), softsign (x / (1 + |x|)) ---
#define VK_DECLARE_UNARY(name, P) \
  template <class T>              \
  Var<T> name(Var<T> x, P settings = {});
VK_OPS_UNARY(VK_DECLARE_UNARY)
#undef VK_DECLARE_UNARY
// The element-wise function `op` (an entry of VK_OPS_UNARY) with its default settings, chosen at
// run time: the activation layer a flag names.
template <class T> Var<T> apply_unary(Op op, Var<T> x);
constexpr bool is_unary(Op op) {
  switch (op) {
#define VK_CASE(name, P) case Op::name:
    VK_OPS_UNARY(VK_CASE)
#undef VK_CASE
    return true;
    default: return false;
  }
}

// --- reductions (ops_reduce.cpp); axis 0 sums over rows ([m,n] -> [1,n]), axis 1 over columns
// ([m,n] -> [m,1]); the whole-tensor forms give [1,1] ---
template <class T> Var<T> sum(Var<T> x);
template <class T> Var<T> sum(Var<T> x, int axis);
template <class T> Var<T> mean(Var<T> x);
template <class T> Var<T> mean(Var<T> x, int axis);
template <class T> Var<T> logsumexp(Var<T> x, int axis);

// --- shape ops (ops_shape.cpp) ---
template <class T> Var<T> concat_cols(Var<T> a, Var<T> b);
template <class T> Var<T> slice_cols(Var<T> x, std::size_t begin, std::size_t end);
template <class T> std::pair<Var<T>, Var<T>> split_cols(Var<T> x, std::size_t at);
// The same elements seen as [rows, cols] (rows * cols must equal x's size); no copy.
template <class T> Var<T> reshape(Var<T> x, std::size_t rows, std::size_t cols);
// [m, n] -> [times * m, n]: x, x, ..., x one under the other (row s * m + i is row i of x), as
// importance sampling lays out K draws for each of m examples.
template <class T> Var<T> tile_rows(Var<T> x, std::size_t times);
// y[:, j] = x[:, order[j]] for a permutation `order` of x's columns (checked), which the caller
// keeps alive until the tape's backward pass has run.
template <class T> Var<T> permute_cols(Var<T> x, std::span<const std::uint32_t> order);
// [m, C] -> [m, pixels C]: row i's C values at every pixel of a channels-last image (a U-Net's
// time embedding added at each pixel).
template <class T> Var<T> tile_pixels(Var<T> x, std::size_t pixels);
// Two channels-last batches of the same pixels, [m, pixels Ca] and [m, pixels Cb], as one of
// Ca + Cb channels (a's first at each pixel): a U-Net's skip connection. A pixel is a row of
// [m pixels, C], so this is concat_cols between two reshapes, which copy nothing.
template <class T> Var<T> concat_channels(Var<T> a, Var<T> b, std::size_t pixels);

// --- convolutions (ops_conv.cpp); images are rows of a batch, channels last (index (h W + w) C + c),
// weights [in, out] as for linear: conv2d's w is [kernel^2 channels, out_channels] with rows in
// (kh, kw, c) order, b [1, out_channels]; conv_transpose2d's w is [out_channels, kernel^2 channels]
// and b [1, channels]. Each is one im2col (or col2im) and one GEMM over the whole batch, or in
// single precision oneDNN's primitives (ConvPath::onednn). ---
// x [batch, large_size] -> [batch, small_size]
template <class T> Var<T> conv2d(Var<T> x, Var<T> w, Var<T> b, const ConvParams& geometry);
// x [batch, small_size] -> [batch, large_size]
template <class T> Var<T> conv_transpose2d(Var<T> x, Var<T> w, Var<T> b, const ConvParams& geometry);

// What runs single-precision convolutions: im2col + GEMM (allocates nothing after the first step),
// or oneDNN's convolution primitives (autodiff/conv_onednn.hpp: faster, but each execution
// allocates; only where vaekit was built with libdnnl-dev). The environment's VAEKIT_CONV
// (im2col or onednn) sets it at start; set_conv_path throws for onednn where it is not built in.
// Double precision always runs im2col. Set it between steps, not while a tape holds convolutions.
enum class ConvPath { im2col, onednn };
bool onednn_convolutions_built();
void set_conv_path(ConvPath path);
ConvPath conv_path();

// --- normalizations (ops_norm.cpp) ---
// Group normalization of channels-last images x [m, pixels * channels]: per image and group of
// channels / groups channels, (x - mean) / sqrt(var + epsilon) over the group's pixels and
// channels, then gamma_c times that plus beta_c (gamma, beta [1, channels]).
template <class T> Var<T> group_norm(Var<T> x, Var<T> gamma, Var<T> beta, GroupNormParams settings);

// --- fused, numerically stable ops of the VAE objective (ops_vae.cpp); per-row results [m,1] ---
// z = mu + exp(logvar / 2) * eps, eps a [m,k] constant drawn from N(0, I); mu and logvar are
// [m,k] or one row [1,k] shared by all m.
template <class T> Var<T> reparameterize(Var<T> mu, Var<T> logvar, Var<T> eps);
// KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j).
template <class T> Var<T> gaussian_kl(Var<T> mu, Var<T> logvar);
// log Bernoulli(x; sigmoid(logits)) = sum_j x_j l_j - softplus(l_j) per row of logits [m,d]; x
// [m,d], or [r,d] with r dividing m for logits that stack m / r blocks of samples of the same r
// rows (row i reads row i mod r of x), so that K samples need no K copies of x.
template <class T> Var<T> bernoulli_loglik(Var<T> logits, Var<T> x);
// log N(x; mean, exp(log_var) I) = -1/2 sum_j ((x_j - m_j)^2 e^{-lv_j} + lv_j + log 2 pi), mean
// [m,d] or one row [1,d] for all, log_var a scalar [1,1], one per feature [1,d] or one per element
// [m,d] (a density of z under q(z|x)). The gradient of a shared log_var sums over the batch in
// double: float lost 10% of it at batch 10,000.
template <class T> Var<T> gaussian_loglik(Var<T> mean, Var<T> x, Var<T> log_var);
// The discretized logistic of 8-bit pixels (Salimans et al. 2017): log P(v) per row, [m,1], of the
// images x [r,d] (r dividing m, read as bernoulli_loglik reads them) whose pixels are v / 255 for v
// in 0..255 (anything else throws); params [m, d w], w = settings.per_pixel(), holds pixel j's K
// locations mu_k, K log-scales ls_k and, for a mixture, K logits a_k in columns j w to j w + w - 1
// (channels last). P(v) = sum_k pi_k [F_k(v/255 + 1/510) - F_k(v/255 - 1/510)] with F_k the
// logistic CDF of (mu_k, e^ls_k) and pi = softmax(a); bin 0 takes all of (-inf, 1/510] and bin 255
// all of [1 - 1/510, inf), so the 256 masses sum to 1. Log-scales are clamped below at
// kLogisticMinLogScale. Computed as log sigma(a) + log sigma(-b) + log(1 - e^{-(a - b)}), exact and
// stable for any mass (docs/likelihoods.md). x gets no gradient: the bins are data. Where a
// gradient will be asked for, the derivatives by the parameters are kept for the backward pass.
template <class T> Var<T> logistic_loglik(Var<T> params, Var<T> x, LogisticParams settings = {});
// E[x] of that distribution per pixel, [m, d]: sum_k pi_k (1/255) sum_{v=1}^{255} P_k(V >= v).
template <class T> Var<T> logistic_mean(Var<T> params, LogisticParams settings = {});
inline constexpr double kLogisticMinLogScale = -15;  // a scale of 3e-7, 1/12,800 of a bin

template <class T> Var<T> operator+(Var<T> a, Var<T> b) { return add(a, b); }
template <class T> Var<T> operator-(Var<T> a, Var<T> b) { return sub(a, b); }
template <class T> Var<T> operator*(Var<T> a, Var<T> b) { return mul(a, b); }
template <class T> Var<T> operator/(Var<T> a, Var<T> b) { return div(a, b); }
template <class T> Var<T> operator*(Var<T> a, T s) { return scale(a, ScaleParams(s)); }
template <class T> Var<T> operator*(T s, Var<T> a) { return scale(a, ScaleParams(s)); }
template <class T> Var<T> operator-(Var<T> a) { return scale(a, ScaleParams(-1)); }

}  // namespace vk
