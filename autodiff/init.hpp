// Weight initialisation of a layer's [in, out] weight and [1, out] bias from a seeded generator.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "autodiff/params.hpp"
#include "autodiff/random.hpp"

namespace vk {

enum class Init {
  automatic,       // He before a rectifier, Xavier otherwise (decided by the container)
  xavier_uniform,  // U(±sqrt(6 / (fan_in + fan_out))), zero bias
  he_uniform,      // U(±sqrt(6 / fan_in)), zero bias
  torch_default,   // PyTorch's nn.Linear / nn.Conv2d: weight and bias U(±1 / sqrt(fan_in))
};

// fan_in and fan_out as PyTorch counts them: the weight's rows and columns for a linear layer,
// the kernel area times the input or output channels for a convolution.
template <class T>
void init_weights(ParameterStore<T>& store, ParamId weight, ParamId bias, Init init, Rng& rng,
                  std::size_t fan_in, std::size_t fan_out) {
  const auto& e = store.entry(weight);
  const T in = T(fan_in), out = T(fan_out);
  auto w = store.values().subspan(e.offset, e.size());
  auto b = store.values().subspan(store.entry(bias).offset, store.entry(bias).size());
  T bound = 0;
  switch (init) {
    case Init::xavier_uniform: bound = std::sqrt(T(6) / (in + out)); break;
    case Init::he_uniform: bound = std::sqrt(T(6) / in); break;
    case Init::torch_default: bound = T(1) / std::sqrt(in); break;
    case Init::automatic: throw std::logic_error("init_weights: Init::automatic was not resolved");
  }
  fill_uniform(rng, w, -bound, bound);
  if (init == Init::torch_default)
    fill_uniform(rng, b, -bound, bound);
  else
    std::fill(b.begin(), b.end(), T(0));
}

}  // namespace vk
