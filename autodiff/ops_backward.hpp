// Backward kernels, one per op of the list, called by Tape::backward's one switch. Each adds
// (never assigns) into the gradients of the inputs that have one.
#pragma once

#include "autodiff/tape.hpp"

namespace vk::detail {

#define VK_DECLARE_BACKWARD(name, P) \
  template <class T>                 \
  void backward_##name(Tape<T>& t, const Node<T>& n);
VK_OPS_COMPUTED(VK_DECLARE_BACKWARD)
#undef VK_DECLARE_BACKWARD

// Shapes of a broadcasting binary op: equal, or 1 along an axis of one operand.
bool broadcastable(std::size_t a, std::size_t b);

}  // namespace vk::detail

// Instantiates the backward kernels of one group of the op list for float and double.
#define VK_INSTANTIATE_BACKWARD(name, P)                                           \
  template void detail::backward_##name<float>(Tape<float>&, const Node<float>&); \
  template void detail::backward_##name<double>(Tape<double>&, const Node<double>&);

#define VK_INSTANTIATE_FLOAT_DOUBLE(MACRO) \
  MACRO(float)                             \
  MACRO(double)
