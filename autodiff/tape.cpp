#include "autodiff/tape.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "autodiff/ops_backward.hpp"

namespace vk {

const char* op_name(Op op) {
  switch (op) {
    case Op::constant: return "constant";
    case Op::variable: return "variable";
    case Op::matmul: return "matmul";
    case Op::linear: return "linear";
    case Op::add: return "add";
    case Op::sub: return "sub";
    case Op::mul: return "mul";
    case Op::div: return "div";
    case Op::scale: return "scale";
    case Op::exp: return "exp";
    case Op::log: return "log";
    case Op::square: return "square";
    case Op::sqrt: return "sqrt";
    case Op::softplus: return "softplus";
    case Op::sigmoid: return "sigmoid";
    case Op::tanh: return "tanh";
    case Op::relu: return "relu";
    case Op::leaky_relu: return "leaky_relu";
    case Op::elu: return "elu";
    case Op::sum: return "sum";
    case Op::logsumexp: return "logsumexp";
    case Op::concat_cols: return "concat_cols";
    case Op::slice_cols: return "slice_cols";
    case Op::reparameterize: return "reparameterize";
    case Op::gaussian_kl: return "gaussian_kl";
    case Op::bernoulli_loglik: return "bernoulli_loglik";
    case Op::gaussian_loglik: return "gaussian_loglik";
  }
  return "?";
}

template <class T>
Var<T> Tape<T>::push(Op op, std::initializer_list<Var<T>> inputs, std::size_t rows,
                     std::size_t cols, T aux, std::int32_t iaux) {
  Node<T> n{};
  n.op = op;
  n.rows = std::uint32_t(rows);
  n.cols = std::uint32_t(cols);
  n.aux = aux;
  n.iaux = iaux;
  bool needs_grad = false;
  for (const Var<T>& v : inputs) {
    if (v.tape != this) throw std::logic_error(fmt::format("{}: input from another tape", op_name(op)));
    n.in[n.n_in++] = v.id;
    needs_grad = needs_grad || nodes_[v.id].grad != nullptr;
  }
  n.value = arena_.allocate(n.size());
  if (needs_grad && grad_enabled_) {
    n.grad = arena_.allocate(n.size());
    std::memset(n.grad, 0, n.size() * sizeof(T));
  }
  nodes_.push_back(n);
  return {this, std::uint32_t(nodes_.size() - 1)};
}

template <class T>
Var<T> Tape<T>::constant(const T* data, std::size_t rows, std::size_t cols) {
  Node<T> n{};
  n.op = Op::constant;
  n.rows = std::uint32_t(rows);
  n.cols = std::uint32_t(cols);
  n.value = const_cast<T*>(data);  // never written: constants have no backward and no grad
  nodes_.push_back(n);
  return {this, std::uint32_t(nodes_.size() - 1)};
}

template <class T>
Var<T> Tape<T>::constant_uninitialized(std::size_t rows, std::size_t cols) {
  return constant(arena_.allocate(rows * cols), rows, cols);
}

template <class T>
Var<T> Tape<T>::variable(T* data, T* grad, std::size_t rows, std::size_t cols) {
  Node<T> n{};
  n.op = Op::variable;
  n.rows = std::uint32_t(rows);
  n.cols = std::uint32_t(cols);
  n.value = data;
  n.grad = grad_enabled_ ? grad : nullptr;
  nodes_.push_back(n);
  return {this, std::uint32_t(nodes_.size() - 1)};
}

template <class T>
void Tape<T>::backward(Var<T> loss) {
  Node<T>& top = nodes_.at(loss.id);
  if (top.size() != 1)
    throw std::invalid_argument(
        fmt::format("backward: the loss must be 1x1, got {}x{}", top.rows, top.cols));
  if (!top.grad) throw std::logic_error("backward: the loss does not depend on any variable");
  top.grad[0] += T(1);
  for (std::size_t i = loss.id + 1; i-- > 0;) {
    const Node<T>& n = nodes_[i];
    if (!n.grad) continue;
    switch (n.op) {
      case Op::constant:
      case Op::variable: break;
      case Op::matmul: detail::backward_matmul(*this, n); break;
      case Op::linear: detail::backward_linear(*this, n); break;
      case Op::add:
      case Op::sub:
      case Op::mul:
      case Op::div: detail::backward_binary(*this, n); break;
      case Op::scale:
      case Op::exp:
      case Op::log:
      case Op::square:
      case Op::sqrt:
      case Op::softplus:
      case Op::sigmoid:
      case Op::tanh:
      case Op::relu:
      case Op::leaky_relu:
      case Op::elu: detail::backward_unary(*this, n); break;
      case Op::sum: detail::backward_sum(*this, n); break;
      case Op::logsumexp: detail::backward_logsumexp(*this, n); break;
      case Op::concat_cols: detail::backward_concat_cols(*this, n); break;
      case Op::slice_cols: detail::backward_slice_cols(*this, n); break;
      case Op::reparameterize: detail::backward_reparameterize(*this, n); break;
      case Op::gaussian_kl: detail::backward_gaussian_kl(*this, n); break;
      case Op::bernoulli_loglik: detail::backward_bernoulli_loglik(*this, n); break;
      case Op::gaussian_loglik: detail::backward_gaussian_loglik(*this, n); break;
    }
  }
}

template <class T>
std::string Tape<T>::dump() const {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node<T>& n = nodes_[i];
    out += fmt::format("%{} = {}(", i, op_name(n.op));
    for (std::size_t k = 0; k < n.n_in; ++k) out += fmt::format("{}%{}", k ? ", " : "", n.in[k]);
    out += fmt::format(") [{}x{}]{}\n", n.rows, n.cols, n.grad ? "" : " no-grad");
  }
  return out;
}

namespace detail {
bool broadcastable(std::size_t a, std::size_t b) { return a == b || a == 1 || b == 1; }
}  // namespace detail

template class Tape<float>;
template class Tape<double>;

}  // namespace vk
