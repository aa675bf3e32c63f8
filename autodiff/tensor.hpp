// Tensor vocabulary of the project: owning containers and non-owning views of static rank.
#pragma once

#include <array>
#include <cstddef>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

namespace vk {

template <class T>
using Matrix = xt::xtensor<T, 2>;

// A row-major view over memory someone else owns (the tape arena, a parameter store, a batch).
// Building one costs no allocation, so kernels make them on the fly.
template <class T>
using MatrixView = xt::xtensor_adaptor<xt::xbuffer_adaptor<T*, xt::no_ownership>, 2>;

template <class T>
MatrixView<T> view(T* data, std::size_t rows, std::size_t cols) {
  return xt::adapt(static_cast<T*>(data), rows * cols, xt::no_ownership(), std::array<std::size_t, 2>{rows, cols});
}

}  // namespace vk
