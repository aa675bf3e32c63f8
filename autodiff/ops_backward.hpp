// Backward kernels, one per op family, called by Tape::backward's single switch. Each adds
// (never assigns) into the gradients of the inputs that have one.
#pragma once

#include "autodiff/tape.hpp"

namespace vk::detail {

template <class T> void backward_matmul(Tape<T>& t, const Node<T>& n);
template <class T> void backward_linear(Tape<T>& t, const Node<T>& n);
template <class T> void backward_binary(Tape<T>& t, const Node<T>& n);   // add sub mul div
template <class T> void backward_unary(Tape<T>& t, const Node<T>& n);    // scale and functions
template <class T> void backward_sum(Tape<T>& t, const Node<T>& n);
template <class T> void backward_logsumexp(Tape<T>& t, const Node<T>& n);
template <class T> void backward_concat_cols(Tape<T>& t, const Node<T>& n);
template <class T> void backward_slice_cols(Tape<T>& t, const Node<T>& n);
template <class T> void backward_reparameterize(Tape<T>& t, const Node<T>& n);
template <class T> void backward_gaussian_kl(Tape<T>& t, const Node<T>& n);
template <class T> void backward_bernoulli_loglik(Tape<T>& t, const Node<T>& n);
template <class T> void backward_gaussian_loglik(Tape<T>& t, const Node<T>& n);

// Shapes of a broadcasting binary op: equal, or 1 along an axis of one operand.
bool broadcastable(std::size_t a, std::size_t b);

}  // namespace vk::detail

#define VK_INSTANTIATE_FLOAT_DOUBLE(MACRO) \
  MACRO(float)                             \
  MACRO(double)
