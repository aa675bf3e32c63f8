// Broadcasting arithmetic and element-wise functions, each forward beside its backward.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"

namespace vk {
namespace {

// Strides that read a broadcast operand at output position (i, j): an axis of length 1 has
// stride 0, so one loop serves every broadcasting case.
struct Strides {
  std::size_t row, col;
  template <class T>
  explicit Strides(const Node<T>& n) : row(n.rows == 1 ? 0 : n.cols), col(n.cols == 1 ? 0 : 1) {}
  std::size_t at(std::size_t i, std::size_t j) const { return i * row + j * col; }
};

template <class T, class F>
Var<T> binary(Op op, Var<T> a, Var<T> b, F f) {
  if (!detail::broadcastable(a.rows(), b.rows()) || !detail::broadcastable(a.cols(), b.cols()))
    throw std::invalid_argument(fmt::format("{}: shapes [{}x{}] and [{}x{}] do not broadcast",
                                            op_name(op), a.rows(), a.cols(), b.rows(), b.cols()));
  const std::size_t m = std::max(a.rows(), b.rows()), n = std::max(a.cols(), b.cols());
  Var<T> y = a.tape->push(op, {a, b}, m, n);
  const Node<T>& na = a.node();
  const Node<T>& nb = b.node();
  const Strides sa(na), sb(nb);
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[i * n + j] = f(na.value[sa.at(i, j)], nb.value[sb.at(i, j)]);
  return y;
}

template <class T, class F>
Var<T> unary(Op op, Var<T> x, F f, T aux = T(0)) {
  Var<T> y = x.tape->push(op, {x}, x.rows(), x.cols(), aux);
  auto out = y.value();
  xt::noalias(out) = f(x.value());
  return y;
}

}  // namespace

template <class T>
Var<T> add(Var<T> a, Var<T> b) { return binary(Op::add, a, b, [](T u, T v) { return u + v; }); }
template <class T>
Var<T> sub(Var<T> a, Var<T> b) { return binary(Op::sub, a, b, [](T u, T v) { return u - v; }); }
template <class T>
Var<T> mul(Var<T> a, Var<T> b) { return binary(Op::mul, a, b, [](T u, T v) { return u * v; }); }
template <class T>
Var<T> div(Var<T> a, Var<T> b) { return binary(Op::div, a, b, [](T u, T v) { return u / v; }); }

template <class T>
Var<T> scale(Var<T> x, T factor) {
  return unary(Op::scale, x, [factor](const auto& v) { return factor * v; }, factor);
}
template <class T>
Var<T> exp(Var<T> x) { return unary(Op::exp, x, [](const auto& v) { return xt::exp(v); }); }
template <class T>
Var<T> log(Var<T> x) { return unary(Op::log, x, [](const auto& v) { return xt::log(v); }); }
template <class T>
Var<T> square(Var<T> x) { return unary(Op::square, x, [](const auto& v) { return v * v; }); }
template <class T>
Var<T> sqrt(Var<T> x) { return unary(Op::sqrt, x, [](const auto& v) { return xt::sqrt(v); }); }
template <class T>
Var<T> softplus(Var<T> x) {
  // max(x, 0) + log1p(e^{-|x|}) never overflows.
  return unary(Op::softplus, x, [](const auto& v) {
    return xt::maximum(v, T(0)) + xt::log1p(xt::exp(-xt::abs(v)));
  });
}
template <class T>
Var<T> sigmoid(Var<T> x) {
  return unary(Op::sigmoid, x, [](const auto& v) { return T(1) / (T(1) + xt::exp(-v)); });
}
template <class T>
Var<T> tanh(Var<T> x) { return unary(Op::tanh, x, [](const auto& v) { return xt::tanh(v); }); }
template <class T>
Var<T> relu(Var<T> x) {
  return unary(Op::relu, x, [](const auto& v) { return xt::maximum(v, T(0)); });
}
template <class T>
Var<T> leaky_relu(Var<T> x, T slope) {
  return unary(Op::leaky_relu, x, [slope](const auto& v) { return xt::where(v > T(0), v, slope * v); }, slope);
}
template <class T>
Var<T> elu(Var<T> x, T alpha) {
  return unary(Op::elu, x, [alpha](const auto& v) {
    return xt::where(v > T(0), v, alpha * (xt::exp(v) - T(1)));
  }, alpha);
}

namespace detail {

template <class T>
void backward_binary(Tape<T>& t, const Node<T>& y) {
  const Node<T>& a = t.node(y.in[0]);
  const Node<T>& b = t.node(y.in[1]);
  const Strides sa(a), sb(b);
  const std::size_t m = y.rows, n = y.cols;
  // d/da and d/db of each op at one position, times the upstream gradient.
  auto each = [&](auto da, auto db) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const T g = y.grad[i * n + j];
        const T u = a.value[sa.at(i, j)], v = b.value[sb.at(i, j)];
        if (a.grad) a.grad[sa.at(i, j)] += g * da(u, v);
        if (b.grad) b.grad[sb.at(i, j)] += g * db(u, v);
      }
  };
  switch (y.op) {
    case Op::add: each([](T, T) { return T(1); }, [](T, T) { return T(1); }); break;
    case Op::sub: each([](T, T) { return T(1); }, [](T, T) { return T(-1); }); break;
    case Op::mul: each([](T, T v) { return v; }, [](T u, T) { return u; }); break;
    case Op::div: each([](T, T v) { return T(1) / v; }, [](T u, T v) { return -u / (v * v); }); break;
    default: throw std::logic_error("backward_binary: not a binary op");
  }
}

template <class T>
void backward_unary(Tape<T>& t, const Node<T>& yn) {
  const Node<T>& xn = t.node(yn.in[0]);
  if (!xn.grad) return;
  auto gx = view(xn.grad, xn.rows, xn.cols);
  auto x = view(xn.value, xn.rows, xn.cols);
  auto y = view(yn.value, yn.rows, yn.cols);
  auto gy = view(yn.grad, yn.rows, yn.cols);
  const T aux = yn.aux;
  switch (yn.op) {
    case Op::scale: xt::noalias(gx) += aux * gy; break;
    case Op::exp: xt::noalias(gx) += gy * y; break;
    case Op::log: xt::noalias(gx) += gy / x; break;
    case Op::square: xt::noalias(gx) += T(2) * gy * x; break;
    case Op::sqrt: xt::noalias(gx) += T(0.5) * gy / y; break;
    case Op::softplus: xt::noalias(gx) += gy / (T(1) + xt::exp(-x)); break;
    case Op::sigmoid: xt::noalias(gx) += gy * y * (T(1) - y); break;
    case Op::tanh: xt::noalias(gx) += gy * (T(1) - y * y); break;
    case Op::relu: xt::noalias(gx) += xt::where(x > T(0), gy, T(0)); break;
    case Op::leaky_relu: xt::noalias(gx) += xt::where(x > T(0), gy, aux * gy); break;
    case Op::elu: xt::noalias(gx) += xt::where(x > T(0), gy, gy * (y + aux)); break;
    default: throw std::logic_error("backward_unary: not a unary op");
  }
}

}  // namespace detail

#define VK_ELEMENTWISE(T)                                              \
  template Var<T> add(Var<T>, Var<T>);                                 \
  template Var<T> sub(Var<T>, Var<T>);                                 \
  template Var<T> mul(Var<T>, Var<T>);                                 \
  template Var<T> div(Var<T>, Var<T>);                                 \
  template Var<T> scale(Var<T>, T);                                    \
  template Var<T> exp(Var<T>);                                         \
  template Var<T> log(Var<T>);                                         \
  template Var<T> square(Var<T>);                                      \
  template Var<T> sqrt(Var<T>);                                        \
  template Var<T> softplus(Var<T>);                                    \
  template Var<T> sigmoid(Var<T>);                                     \
  template Var<T> tanh(Var<T>);                                        \
  template Var<T> relu(Var<T>);                                        \
  template Var<T> leaky_relu(Var<T>, T);                               \
  template Var<T> elu(Var<T>, T);                                      \
  template void detail::backward_binary(Tape<T>&, const Node<T>&);     \
  template void detail::backward_unary(Tape<T>&, const Node<T>&);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_ELEMENTWISE)

}  // namespace vk
