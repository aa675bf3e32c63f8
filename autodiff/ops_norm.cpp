// Normalizations of channels-last images. group_norm keeps each (image, group)'s mean and
// 1 / sqrt(var + epsilon) in an arena constant beside its node (as conv2d keeps its im2col
// buffer), so backward reads them instead of recomputing, and a step allocates nothing.
#include <array>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/parallel.hpp"

namespace vk {
namespace {

// Per-channel sums live on the stack: a U-Net uses 8 or 32 groups of at most a few hundred channels.
constexpr std::size_t kMaxGroups = 64, kMaxChannels = 1024;

// The group of every channel's figure, spread back over its channels.
template <class T>
void per_channel(const T* per_group, std::size_t c, std::size_t per_group_channels, T* out) {
  for (std::size_t j = 0; j < c; ++j) out[j] = per_group[j / per_group_channels];
}

}  // namespace

// Loops over (pixel, channel) run over contiguous channels with per-channel coefficients, so the
// compiler vectorizes them; the group figures are gathered from per-channel sums afterwards. Rows
// (images) are independent and split over the pool's threads.
template <class T>
Var<T> group_norm(Var<T> x, Var<T> gamma, Var<T> beta, GroupNormParams s) {
  const std::size_t c = s.channels, groups = s.groups;
  if (c == 0 || groups == 0 || groups > kMaxGroups || c > kMaxChannels || c % groups || x.cols() % c ||
      !(s.epsilon > 0))
    throw std::invalid_argument(fmt::format("group_norm: {} channels (at most {}) in {} groups (at most {}, dividing the "
                                            "channels) with epsilon {} do not fit [{}x{}]",
                                            c, kMaxChannels, groups, kMaxGroups, s.epsilon, x.rows(), x.cols()));
  if (gamma.rows() != 1 || gamma.cols() != c || beta.rows() != 1 || beta.cols() != c)
    throw std::invalid_argument(fmt::format("group_norm: gamma [{}x{}] and beta [{}x{}] must be [1x{}]", gamma.rows(),
                                            gamma.cols(), beta.rows(), beta.cols(), c));
  const std::size_t m = x.rows(), cols = x.cols(), pixels = cols / c, per_group = c / groups;
  Tape<T>& tape = *x.tape;
  Var<T> stats = tape.constant_uninitialized(m, 2 * groups);  // mean, then 1 / sd, per group
  Var<T> y = tape.template push<Op::group_norm>({x, gamma, beta, stats}, m, cols, s);
  const T* g = gamma.node().value;
  const T* b = beta.node().value;
  const T* xs = x.node().value;
  T* ys = y.node().value;
  T* ss = stats.node().value;
  const double n = double(pixels * per_group);
  auto rows = [&](std::size_t first, std::size_t end) {
    for (std::size_t i = first; i < end; ++i) {
      const T* in = xs + i * cols;
      T* out = ys + i * cols;
      T* st = ss + i * 2 * groups;
      // Two passes, summed in double: float sums of 25,000 values lose the variance of a centred group.
      std::array<double, kMaxChannels> sum{}, centre{};
      std::array<double, kMaxGroups> mean{}, var{};
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = 0; j < c; ++j) sum[j] += in[p * c + j];
      for (std::size_t j = 0; j < c; ++j) mean[j / per_group] += sum[j];
      for (std::size_t k = 0; k < groups; ++k) mean[k] /= n;
      per_channel(mean.data(), c, per_group, centre.data());
      sum.fill(0);
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = 0; j < c; ++j) {
          const double d = in[p * c + j] - centre[j];
          sum[j] += d * d;
        }
      for (std::size_t j = 0; j < c; ++j) var[j / per_group] += sum[j];
      std::array<T, kMaxChannels> mu, scale;
      for (std::size_t k = 0; k < groups; ++k) {
        st[k] = T(mean[k]);
        st[groups + k] = T(1 / std::sqrt(var[k] / n + s.epsilon));
      }
      per_channel(st, c, per_group, mu.data());
      per_channel(st + groups, c, per_group, scale.data());
      for (std::size_t j = 0; j < c; ++j) scale[j] *= g[j];
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = 0; j < c; ++j) out[p * c + j] = (in[p * c + j] - mu[j]) * scale[j] + b[j];
    }
  };
  parallel::for_parts(m, [](void* f, std::size_t first, std::size_t end) { (*static_cast<decltype(rows)*>(f))(first, end); },
                      &rows);
  return y;
}

namespace detail {

// With u = (x - mean) r the normalized value and d = dy gamma its gradient, per group of n values
// dx = r (d - mean(d) - u mean(d u)) = dy (r gamma) - (x - mean) (r^2 mean(d u)) - r mean(d), one
// pass with per-channel coefficients once the per-channel sums of dy and dy (x - mean) are known;
// dgamma_c = sum dy u and dbeta_c = sum dy over rows and pixels, each row's into scratch and
// summed in row order, so the thread count does not change a bit.
template <class T>
void backward_group_norm(Tape<T>& t, const Node<T>& y) {
  const Node<T>& x = t.node(y.in[0]);
  const Node<T>& gamma = t.node(y.in[1]);
  const Node<T>& beta = t.node(y.in[2]);
  const Node<T>& stats = t.node(y.in[3]);
  const GroupNormParams& s = params<Op::group_norm>(y);
  const std::size_t c = s.channels, groups = s.groups, m = y.rows, cols = y.cols, pixels = cols / c;
  const std::size_t per_group = c / groups;
  const double n = double(pixels * per_group);
  T* row_sums = t.scratch(m * 2 * c);  // per row: sum dy u, then sum dy, per channel
  auto rows = [&](std::size_t first, std::size_t end) {
    for (std::size_t i = first; i < end; ++i) {
      const T* in = x.value + i * cols;
      const T* dy = y.grad + i * cols;
      const T* st = stats.value + i * 2 * groups;
      std::array<T, kMaxChannels> mu, r;
      per_channel(st, c, per_group, mu.data());
      per_channel(st + groups, c, per_group, r.data());
      std::array<double, kMaxChannels> s_dy{}, s_dyx{};  // sums of dy and dy (x - mean)
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = 0; j < c; ++j) {
          const double g = dy[p * c + j];
          s_dy[j] += g;
          s_dyx[j] += g * double(in[p * c + j] - mu[j]);
        }
      T* sums = row_sums + i * 2 * c;
      std::array<double, kMaxGroups> mean_d{}, mean_du{};
      for (std::size_t j = 0; j < c; ++j) {
        const double du = s_dyx[j] * r[j];  // sum dy u
        sums[j] = T(du);
        sums[c + j] = T(s_dy[j]);
        mean_d[j / per_group] += s_dy[j] * gamma.value[j] / n;
        mean_du[j / per_group] += du * gamma.value[j] / n;
      }
      if (!x.grad) continue;
      std::array<T, kMaxChannels> a, bx, c0;
      for (std::size_t j = 0; j < c; ++j) {
        const double rj = r[j];
        a[j] = T(rj * gamma.value[j]);
        bx[j] = T(-rj * rj * mean_du[j / per_group]);
        c0[j] = T(-rj * mean_d[j / per_group]);
      }
      T* dx = x.grad + i * cols;
      for (std::size_t p = 0; p < pixels; ++p)
        for (std::size_t j = 0; j < c; ++j)
          dx[p * c + j] += dy[p * c + j] * a[j] + (in[p * c + j] - mu[j]) * bx[j] + c0[j];
    }
  };
  parallel::for_parts(m, [](void* f, std::size_t first, std::size_t end) { (*static_cast<decltype(rows)*>(f))(first, end); },
                      &rows);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < c; ++j) {
      if (gamma.grad) gamma.grad[j] += row_sums[i * 2 * c + j];
      if (beta.grad) beta.grad[j] += row_sums[i * 2 * c + c + j];
    }
}

}  // namespace detail

#define VK_NORM(T) template Var<T> group_norm(Var<T>, Var<T>, Var<T>, GroupNormParams);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_NORM)
VK_OPS_NORM(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
