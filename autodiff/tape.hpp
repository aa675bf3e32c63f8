// Reverse-mode automatic differentiation on a tape of matrix ops.
//
// Every value on the tape is a row-major matrix [rows, cols] (a scalar is 1x1): the framework's
// models are batches of feature vectors, and a static rank of 2 keeps every kernel a plain GEMM
// or a contiguous loop. Ops are pushed in execution order, one node per matrix op, so backward is
// one reverse loop with no graph sort. Values and gradients of intermediates live in an arena
// that reset() rewinds: a training step that repeats the previous one allocates nothing.
#pragma once

#include <array>
#include <cassert>
#include <cstring>
#include <type_traits>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "autodiff/arena.hpp"
#include "autodiff/op_list.hpp"
#include "autodiff/params.hpp"
#include "autodiff/tensor.hpp"

namespace vk {

enum class Op : std::uint8_t {
#define VK_ENUMERATOR(name, P) name,
  VK_OPS(VK_ENUMERATOR)
#undef VK_ENUMERATOR
};

const char* op_name(Op op);

// The settings block of each op, e.g. OpParams<Op::conv2d> is ConvParams.
template <Op op>
struct OpParamsOf;
#define VK_PARAMS_OF(name, P) \
  template <>                 \
  struct OpParamsOf<Op::name> { using type = P; };
VK_OPS(VK_PARAMS_OF)
#undef VK_PARAMS_OF
template <Op op>
using OpParams = typename OpParamsOf<op>::type;

inline constexpr std::size_t kMaxInputs = 4;

template <class T>
struct Node {
  T* value;
  T* grad;                    // nullptr when nothing upstream needs a gradient
  const void* params;         // the op's OpParams block in the arena; nullptr for NoParams
  std::uint32_t rows;
  std::uint32_t cols;
  std::array<std::uint32_t, kMaxInputs> in;
  std::uint8_t n_in;
  Op op;

  std::size_t size() const { return std::size_t(rows) * cols; }
};

// The settings an op recorded, typed by the op (checked in debug builds).
template <Op op, class T>
const OpParams<op>& params(const Node<T>& n) {
  assert(n.op == op && n.params);
  return *static_cast<const OpParams<op>*>(n.params);
}

template <class T>
class Tape;

// A handle to one node of a tape: cheap to copy, valid until the tape is reset.
template <class T>
struct Var {
  Tape<T>* tape = nullptr;
  std::uint32_t id = 0;

  const Node<T>& node() const { return tape->node(id); }
  std::size_t rows() const { return node().rows; }
  std::size_t cols() const { return node().cols; }
  bool requires_grad() const { return node().grad != nullptr; }
  MatrixView<T> value() const {
    const Node<T>& n = node();
    return view(n.value, n.rows, n.cols);
  }
  MatrixView<T> grad() const {
    const Node<T>& n = node();
    if (!n.grad) throw std::logic_error("grad() of a node that does not require a gradient");
    return view(n.grad, n.rows, n.cols);
  }
  T item() const {
    if (node().size() != 1) throw std::logic_error("item() of a node that is not 1x1");
    return node().value[0];
  }
};

template <class T>
class Tape {
 public:
  Tape() { nodes_.reserve(256); }
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // Leaves. A constant reads memory the caller keeps alive until reset(); nothing is copied.
  Var<T> constant(const T* data, std::size_t rows, std::size_t cols);
  Var<T> constant(const Matrix<T>& m) { return constant(m.data(), m.shape(0), m.shape(1)); }
  // A constant whose storage lives in the arena, for the caller to fill (noise, masks).
  Var<T> constant_uninitialized(std::size_t rows, std::size_t cols);
  // A leaf whose gradient is added into grad (the caller zeroes it when it wants to).
  Var<T> variable(T* data, T* grad, std::size_t rows, std::size_t cols);
  Var<T> param(ParameterStore<T>& store, ParamId id) {
    const auto& e = store.entry(id);
    return variable(store.value_data(id), store.grad_data(id), e.rows, e.cols);
  }

  // Adds d loss / d node into the gradient of every node that requires one. The loss must be
  // 1x1; call once per recording.
  void backward(Var<T> loss);

  // Forgets every node and rewinds the arena; handles taken before are invalid afterwards.
  void reset() {
    nodes_.clear();
    arena_.rewind();
  }

  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }

  std::size_t size() const { return nodes_.size(); }
  const Node<T>& node(std::uint32_t id) const { return nodes_[id]; }
  Node<T>& node(std::uint32_t id) { return nodes_[id]; }
  std::size_t arena_capacity() const { return arena_.capacity(); }

  // The recorded graph, one node a line: "%3 = linear(%0, %1, %2) [128x400]".
  std::string dump() const;

  // For op implementations: records a node of `op` with fresh storage and its settings. The node
  // needs a gradient when gradients are enabled and any input needs one; its gradient starts at 0.
  template <Op op>
  Var<T> push(std::initializer_list<Var<T>> inputs, std::size_t rows, std::size_t cols,
              const OpParams<op>& settings = {}) {
    using P = OpParams<op>;
    static_assert(std::is_trivially_copyable_v<P> && std::is_trivially_destructible_v<P>,
                  "op settings live in the arena, which never runs destructors");
    const void* block = nullptr;
    if constexpr (!std::is_empty_v<P>) {
      void* at = arena_.allocate((sizeof(P) + sizeof(T) - 1) / sizeof(T));
      std::memcpy(at, &settings, sizeof(P));
      block = at;
    }
    return record(op, inputs, rows, cols, block, nullptr);
  }
  // A node whose value (and gradient) is the storage of `of`, seen as [rows, cols]: a reshape
  // costs no copy, and its backward has nothing to do.
  Var<T> alias(Op op, Var<T> of, std::size_t rows, std::size_t cols) {
    return record(op, {of}, rows, cols, nullptr, &of.node());
  }
  // Arena storage for an op's temporaries (im2col buffers), valid until reset().
  T* scratch(std::size_t n) { return arena_.allocate(n); }

 private:
  Var<T> record(Op op, std::initializer_list<Var<T>> inputs, std::size_t rows, std::size_t cols,
                const void* params, const Node<T>* shares);

  std::vector<Node<T>> nodes_;
  Arena<T> arena_;
  bool grad_enabled_ = true;
};

// Ops record nothing that backward could use while a guard lives: for evaluation and sampling.
template <class T>
class NoGradGuard {
 public:
  explicit NoGradGuard(Tape<T>& tape) : tape_(tape), previous_(tape.grad_enabled()) {
    tape_.set_grad_enabled(false);
  }
  ~NoGradGuard() { tape_.set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  Tape<T>& tape_;
  bool previous_;
};

}  // namespace vk
