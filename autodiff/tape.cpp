#include "autodiff/tape.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "autodiff/ops_backward.hpp"

namespace vk {

namespace {
#define VK_NAME(name, P) #name,
constexpr const char* kOpNames[] = {VK_OPS(VK_NAME)};
#undef VK_NAME
}  // namespace

const char* op_name(Op op) { return kOpNames[std::size_t(op)]; }

template <class T>
Var<T> Tape<T>::record(Op op, std::initializer_list<Var<T>> inputs, std::size_t rows,
                       std::size_t cols, const void* params, const Node<T>* shares) {
  if (inputs.size() > kMaxInputs) throw std::logic_error(fmt::format("{}: too many inputs", op_name(op)));
  Node<T> n{};
  n.op = op;
  n.rows = std::uint32_t(rows);
  n.cols = std::uint32_t(cols);
  n.params = params;
  bool needs_grad = false;
  for (const Var<T>& v : inputs) {
    if (v.tape != this) throw std::logic_error(fmt::format("{}: input from another tape", op_name(op)));
    n.in[n.n_in++] = v.id;
    needs_grad = needs_grad || nodes_[v.id].grad != nullptr;
  }
  if (shares) {
    n.value = shares->value;
    n.grad = grad_enabled_ ? shares->grad : nullptr;
  } else {
    n.value = arena_.allocate(n.size());
    if (needs_grad && grad_enabled_) {
      n.grad = arena_.allocate(n.size());
      std::memset(n.grad, 0, n.size() * sizeof(T));
    }
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
#define VK_CASE(name, P) \
  case Op::name: detail::backward_##name(*this, n); break;
        VK_OPS_COMPUTED(VK_CASE)
#undef VK_CASE
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
