// Broadcasting arithmetic and element-wise functions, each forward beside its backward.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/simd.hpp"

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

// f is applied to xsimd batches and to scalars (see simd::map).
template <class T, class F>
Var<T> unary(Op op, Var<T> x, F f, T aux = T(0)) {
  Var<T> y = x.tape->push(op, {x}, x.rows(), x.cols(), aux);
  simd::map(x.node().value, y.node().value, x.node().size(), f);
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
  return unary(Op::scale, x, [factor](auto v) { return decltype(v)(factor) * v; }, factor);
}
template <class T>
Var<T> exp(Var<T> x) { return unary(Op::exp, x, [](auto v) { return xsimd::exp(v); }); }
template <class T>
Var<T> log(Var<T> x) { return unary(Op::log, x, [](auto v) { return xsimd::log(v); }); }
template <class T>
Var<T> square(Var<T> x) { return unary(Op::square, x, [](auto v) { return v * v; }); }
template <class T>
Var<T> sqrt(Var<T> x) { return unary(Op::sqrt, x, [](auto v) { return xsimd::sqrt(v); }); }
template <class T>
Var<T> softplus(Var<T> x) { return unary(Op::softplus, x, [](auto v) { return simd::softplus(v); }); }
template <class T>
Var<T> sigmoid(Var<T> x) {
  return unary(Op::sigmoid, x, [](auto v) {
    using V = decltype(v);
    return V(T(1)) / (V(T(1)) + xsimd::exp(-v));
  });
}
template <class T>
Var<T> tanh(Var<T> x) { return unary(Op::tanh, x, [](auto v) { return xsimd::tanh(v); }); }
template <class T>
Var<T> relu(Var<T> x) {
  return unary(Op::relu, x, [](auto v) { return xsimd::max(v, decltype(v)(T(0))); });
}
template <class T>
Var<T> leaky_relu(Var<T> x, T slope) {
  return unary(Op::leaky_relu, x, [slope](auto v) {
    using V = decltype(v);
    return simd::where(v > V(T(0)), v, V(slope) * v);
  }, slope);
}
template <class T>
Var<T> elu(Var<T> x, T alpha) {
  return unary(Op::elu, x, [alpha](auto v) {
    using V = decltype(v);
    return simd::where(v > V(T(0)), v, V(alpha) * (xsimd::exp(v) - V(T(1))));
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
  const T aux = yn.aux;
  // gx += f(gy, x, y)
  auto add = [&](auto f) { simd::map_add(yn.grad, xn.value, yn.value, xn.grad, xn.size(), f); };
  switch (yn.op) {
    case Op::scale: add([aux](auto g, auto, auto) { return decltype(g)(aux) * g; }); break;
    case Op::exp: add([](auto g, auto, auto y) { return g * y; }); break;
    case Op::log: add([](auto g, auto x, auto) { return g / x; }); break;
    case Op::square: add([](auto g, auto x, auto) { return decltype(g)(T(2)) * g * x; }); break;
    case Op::sqrt: add([](auto g, auto, auto y) { return decltype(g)(T(0.5)) * g / y; }); break;
    case Op::softplus:
      add([](auto g, auto x, auto) { return g / (decltype(g)(T(1)) + xsimd::exp(-x)); });
      break;
    case Op::sigmoid: add([](auto g, auto, auto y) { return g * y * (decltype(g)(T(1)) - y); }); break;
    case Op::tanh: add([](auto g, auto, auto y) { return g * (decltype(g)(T(1)) - y * y); }); break;
    case Op::relu:
      add([](auto g, auto x, auto) {
        using V = decltype(g);
        return simd::where(x > V(T(0)), g, V(T(0)));
      });
      break;
    case Op::leaky_relu:
      add([aux](auto g, auto x, auto) {
        using V = decltype(g);
        return simd::where(x > V(T(0)), g, V(aux) * g);
      });
      break;
    case Op::elu:
      add([aux](auto g, auto x, auto y) {
        using V = decltype(g);
        return simd::where(x > V(T(0)), g, g * (y + V(aux)));
      });
      break;
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
