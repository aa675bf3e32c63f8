// Normalizations of channels-last images. group_norm keeps each (image, group)'s mean and
// 1 / sqrt(var + epsilon) in an arena constant beside its node (as conv2d keeps its im2col
// buffer), so backward reads them instead of recomputing, and a step allocates nothing.
#include <array>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {
namespace {

// Group sums live on the stack: a U-Net uses 8 or 32 groups.
constexpr std::size_t kMaxGroups = 64;

}  // namespace

template <class T>
Var<T> group_norm(Var<T> x, Var<T> gamma, Var<T> beta, GroupNormParams s) {
  const std::size_t c = s.channels, groups = s.groups;
  if (c == 0 || groups == 0 || groups > kMaxGroups || c % groups || x.cols() % c || !(s.epsilon > 0))
    throw std::invalid_argument(fmt::format("group_norm: {} channels in {} groups (at most {}, dividing the channels) "
                                            "with epsilon {} do not fit [{}x{}]",
                                            c, groups, kMaxGroups, s.epsilon, x.rows(), x.cols()));
  if (gamma.rows() != 1 || gamma.cols() != c || beta.rows() != 1 || beta.cols() != c)
    throw std::invalid_argument(fmt::format("group_norm: gamma [{}x{}] and beta [{}x{}] must be [1x{}]", gamma.rows(),
                                            gamma.cols(), beta.rows(), beta.cols(), c));
  const std::size_t m = x.rows(), pixels = x.cols() / c, per_group = c / groups;
  Tape<T>& tape = *x.tape;
  Var<T> stats = tape.constant_uninitialized(m, 2 * groups);  // mean, then 1 / sd, per group
  Var<T> y = tape.template push<Op::group_norm>({x, gamma, beta, stats}, m, x.cols(), s);
  const T* g = gamma.node().value;
  const T* b = beta.node().value;
  const double n = double(pixels * per_group);
  for (std::size_t i = 0; i < m; ++i) {
    const T* in = x.node().value + i * x.cols();
    T* out = y.node().value + i * x.cols();
    T* st = stats.node().value + i * 2 * groups;
    // Two passes in double: float sums of 25,000 values lose the variance of a centred group.
    std::array<double, kMaxGroups> mean{}, var{};
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t j = 0; j < c; ++j) mean[j / per_group] += in[p * c + j];
    for (std::size_t k = 0; k < groups; ++k) mean[k] /= n;
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t j = 0; j < c; ++j) {
        const double d = in[p * c + j] - mean[j / per_group];
        var[j / per_group] += d * d;
      }
    for (std::size_t k = 0; k < groups; ++k) {
      st[k] = T(mean[k]);
      st[groups + k] = T(1 / std::sqrt(var[k] / n + s.epsilon));
    }
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t j = 0; j < c; ++j) {
        const std::size_t k = j / per_group;
        out[p * c + j] = (in[p * c + j] - st[k]) * st[groups + k] * g[j] + b[j];
      }
  }
  return y;
}

namespace detail {

// With u = (x - mean) r the normalized value and d = dy gamma its gradient, per group of n values
// dx = r (d - mean(d) - u mean(d u)); dgamma_c = sum dy u and dbeta_c = sum dy over rows and pixels.
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
  for (std::size_t i = 0; i < m; ++i) {
    const T* in = x.value + i * cols;
    const T* dy = y.grad + i * cols;
    const T* st = stats.value + i * 2 * groups;
    std::array<double, kMaxGroups> sum_d{}, sum_du{};
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t j = 0; j < c; ++j) {
        const std::size_t k = j / per_group;
        const double u = double(in[p * c + j] - st[k]) * st[groups + k];
        const double g = dy[p * c + j];
        if (gamma.grad) gamma.grad[j] += T(g * u);
        if (beta.grad) beta.grad[j] += T(g);
        const double d = g * gamma.value[j];
        sum_d[k] += d;
        sum_du[k] += d * u;
      }
    if (!x.grad) continue;
    T* dx = x.grad + i * cols;
    for (std::size_t k = 0; k < groups; ++k) {
      sum_d[k] /= n;
      sum_du[k] /= n;
    }
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t j = 0; j < c; ++j) {
        const std::size_t k = j / per_group;
        const double u = double(in[p * c + j] - st[k]) * st[groups + k];
        dx[p * c + j] += T(st[groups + k] * (dy[p * c + j] * double(gamma.value[j]) - sum_d[k] - u * sum_du[k]));
      }
  }
}

}  // namespace detail

#define VK_NORM(T) template Var<T> group_norm(Var<T>, Var<T>, Var<T>, GroupNormParams);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_NORM)
VK_OPS_NORM(VK_INSTANTIATE_BACKWARD)

}  // namespace vk
