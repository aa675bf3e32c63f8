// Broadcasting arithmetic and element-wise functions, each forward beside its backward.
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/ops_backward.hpp"
#include "autodiff/parallel.hpp"
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

template <Op op, class T, class F>
Var<T> binary(Var<T> a, Var<T> b, F f) {
  if (!detail::broadcastable(a.rows(), b.rows()) || !detail::broadcastable(a.cols(), b.cols()))
    throw std::invalid_argument(fmt::format("{}: shapes [{}x{}] and [{}x{}] do not broadcast",
                                            op_name(op), a.rows(), a.cols(), b.rows(), b.cols()));
  const std::size_t m = std::max(a.rows(), b.rows()), n = std::max(a.cols(), b.cols());
  Var<T> y = a.tape->template push<op>({a, b}, m, n);
  const Node<T>& na = a.node();
  const Node<T>& nb = b.node();
  const Strides sa(na), sb(nb);
  T* out = y.node().value;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) out[i * n + j] = f(na.value[sa.at(i, j)], nb.value[sb.at(i, j)]);
  return y;
}

}  // namespace

// The element-wise functions, one struct per VK_OPS_UNARY entry: forward(x) is f and
// backward(g, x, y) is g f'(x) given y = f(x). Both are applied to xsimd batches and, for the
// tail, to scalars, so they are written with the xsimd:: functions (which have scalar overloads)
// and simd::where. An op with settings takes them as a last argument.
namespace fn {

struct scale {
  template <class V> static V forward(V x, ScaleParams p) { return V(p.factor) * x; }
  template <class V> static V backward(V g, V, V, ScaleParams p) { return V(p.factor) * g; }
};
struct exp {
  template <class V> static V forward(V x) { return xsimd::exp(x); }
  template <class V> static V backward(V g, V, V y) { return g * y; }
};
struct log {
  template <class V> static V forward(V x) { return xsimd::log(x); }
  template <class V> static V backward(V g, V x, V) { return g / x; }
};
struct square {
  template <class V> static V forward(V x) { return x * x; }
  template <class V> static V backward(V g, V x, V) { return V(2) * g * x; }
};
struct sqrt {
  template <class V> static V forward(V x) { return xsimd::sqrt(x); }
  template <class V> static V backward(V g, V, V y) { return V(0.5) * g / y; }
};
struct softplus {
  template <class V> static V forward(V x) { return simd::softplus(x); }
  template <class V> static V backward(V g, V x, V) { return g / (V(1) + xsimd::exp(-x)); }
};
struct sigmoid {
  template <class V> static V forward(V x) { return V(1) / (V(1) + xsimd::exp(-x)); }
  template <class V> static V backward(V g, V, V y) { return g * y * (V(1) - y); }
};
struct tanh {
  template <class V> static V forward(V x) { return xsimd::tanh(x); }
  template <class V> static V backward(V g, V, V y) { return g * (V(1) - y * y); }
};
struct relu {
  template <class V> static V forward(V x) { return xsimd::max(x, V(0)); }
  template <class V> static V backward(V g, V x, V) { return simd::where(x > V(0), g, V(0)); }
};
struct leaky_relu {
  template <class V> static V forward(V x, LeakyReluParams p) { return simd::where(x > V(0), x, V(p.slope) * x); }
  template <class V> static V backward(V g, V x, V, LeakyReluParams p) {
    return simd::where(x > V(0), g, V(p.slope) * g);
  }
};
struct elu {
  template <class V> static V forward(V x, EluParams p) {
    return simd::where(x > V(0), x, V(p.alpha) * (xsimd::exp(x) - V(1)));
  }
  template <class V> static V backward(V g, V x, V y, EluParams p) {
    return simd::where(x > V(0), g, g * (y + V(p.alpha)));
  }
};
// x sigmoid(x) (Ramachandran et al. 2017, "SiLU"); with s = sigmoid(x), f' = s + y (1 - s).
struct swish {
  template <class V> static V forward(V x) { return x / (V(1) + xsimd::exp(-x)); }
  template <class V> static V backward(V g, V x, V y) {
    const V s = V(1) / (V(1) + xsimd::exp(-x));
    return g * (s + y * (V(1) - s));
  }
};

// x / (1 + |x|); f' = 1 / (1 + |x|)^2.
struct softsign {
  template <class V> static V forward(V x) { return x / (V(1) + xsimd::abs(x)); }
  template <class V> static V backward(V g, V x, V) {
    const V d = V(1) + xsimd::abs(x);
    return g / (d * d);
  }
};

}  // namespace fn

namespace {

// Elements per unit of a split over threads: a multiple of every SIMD width.
constexpr std::size_t kGrain = 64;

template <class K, class V, class P>
V unary_forward(V x, const P& p) {
  if constexpr (std::is_empty_v<P>) return K::forward(x);
  else return K::forward(x, p);
}
template <class K, class V, class P>
V unary_backward(V g, V x, V y, const P& p) {
  if constexpr (std::is_empty_v<P>) return K::backward(g, x, y);
  else return K::backward(g, x, y, p);
}

}  // namespace

#define VK_DEFINE_UNARY(name, P)                                                           \
  template <class T>                                                                       \
  Var<T> name(Var<T> x, P settings) {                                                      \
    Var<T> y = x.tape->template push<Op::name>({x}, x.rows(), x.cols(), settings);          \
    const T* in = x.node().value;                                                          \
    T* out = y.node().value;                                                               \
    auto part = [&](std::size_t b, std::size_t e) {                                        \
      simd::map(in + b, out + b, e - b, [settings](auto v) { return unary_forward<fn::name>(v, settings); }); \
    };                                                                                     \
    parallel::for_range(x.node().size(), kGrain, part);                                    \
    return y;                                                                              \
  }                                                                                        \
  template <class T>                                                                       \
  void detail::backward_##name(Tape<T>& t, const Node<T>& yn) {                            \
    const Node<T>& xn = t.node(yn.in[0]);                                                  \
    if (!xn.grad) return;                                                                  \
    P settings{};                                                                          \
    if constexpr (!std::is_empty_v<P>) settings = params<Op::name>(yn);                      \
    auto part = [&](std::size_t b, std::size_t e) {                                        \
      simd::map_add(yn.grad + b, xn.value + b, yn.value + b, xn.grad + b, e - b,           \
                    [settings](auto g, auto x, auto y) { return unary_backward<fn::name>(g, x, y, settings); }); \
    };                                                                                     \
    parallel::for_range(xn.size(), kGrain, part);                                          \
  }
VK_OPS_UNARY(VK_DEFINE_UNARY)
#undef VK_DEFINE_UNARY

template <class T>
Var<T> apply_unary(Op op, Var<T> x) {
  switch (op) {
#define VK_CASE(name, P) \
  case Op::name: return name(x);
    VK_OPS_UNARY(VK_CASE)
#undef VK_CASE
    default: throw std::invalid_argument(fmt::format("{} is not an element-wise function", op_name(op)));
  }
}

template <class T>
Var<T> add(Var<T> a, Var<T> b) { return binary<Op::add>(a, b, [](T u, T v) { return u + v; }); }
template <class T>
Var<T> sub(Var<T> a, Var<T> b) { return binary<Op::sub>(a, b, [](T u, T v) { return u - v; }); }
template <class T>
Var<T> mul(Var<T> a, Var<T> b) { return binary<Op::mul>(a, b, [](T u, T v) { return u * v; }); }
template <class T>
Var<T> div(Var<T> a, Var<T> b) { return binary<Op::div>(a, b, [](T u, T v) { return u / v; }); }

namespace detail {
namespace {

// d/da and d/db of a binary op at one position, times the upstream gradient, added in.
template <class T, class Da, class Db>
void binary_backward(Tape<T>& t, const Node<T>& y, Da da, Db db) {
  const Node<T>& a = t.node(y.in[0]);
  const Node<T>& b = t.node(y.in[1]);
  const Strides sa(a), sb(b);
  const std::size_t m = y.rows, n = y.cols;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const T g = y.grad[i * n + j];
      const T u = a.value[sa.at(i, j)], v = b.value[sb.at(i, j)];
      if (a.grad) a.grad[sa.at(i, j)] += g * da(u, v);
      if (b.grad) b.grad[sb.at(i, j)] += g * db(u, v);
    }
}

}  // namespace

template <class T>
void backward_add(Tape<T>& t, const Node<T>& y) {
  binary_backward(t, y, [](T, T) { return T(1); }, [](T, T) { return T(1); });
}
template <class T>
void backward_sub(Tape<T>& t, const Node<T>& y) {
  binary_backward(t, y, [](T, T) { return T(1); }, [](T, T) { return T(-1); });
}
template <class T>
void backward_mul(Tape<T>& t, const Node<T>& y) {
  binary_backward(t, y, [](T, T v) { return v; }, [](T u, T) { return u; });
}
template <class T>
void backward_div(Tape<T>& t, const Node<T>& y) {
  binary_backward(t, y, [](T, T v) { return T(1) / v; }, [](T u, T v) { return -u / (v * v); });
}

}  // namespace detail

#define VK_INSTANTIATE_UNARY(name, P)             \
  template Var<float> name(Var<float>, P);        \
  template Var<double> name(Var<double>, P);
VK_OPS_UNARY(VK_INSTANTIATE_UNARY)
VK_OPS_UNARY(VK_INSTANTIATE_BACKWARD)
VK_OPS_BINARY(VK_INSTANTIATE_BACKWARD)
#define VK_ELEMENTWISE(T)                      \
  template Var<T> add(Var<T>, Var<T>);         \
  template Var<T> sub(Var<T>, Var<T>);         \
  template Var<T> mul(Var<T>, Var<T>);         \
  template Var<T> div(Var<T>, Var<T>);         \
  template Var<T> apply_unary(Op, Var<T>);
VK_INSTANTIATE_FLOAT_DOUBLE(VK_ELEMENTWISE)

}  // namespace vk
