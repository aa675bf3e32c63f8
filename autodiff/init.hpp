// Weight initialisation of a Linear layer [in, out] from a seeded generator.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "autodiff/params.hpp"
#include "autodiff/random.hpp"

namespace vk {

enum class Init {
  automatic,       // He before a rectifier, Xavier otherwise (decided by the container)
  xavier_uniform,  // U(±sqrt(6 / (in + out))), zero bias
  he_uniform,      // U(±sqrt(6 / in)), zero bias
  torch_default,   // PyTorch's nn.Linear: weight and bias U(±1 / sqrt(in))
};

template <class T>
void init_linear(ParameterStore<T>& store, ParamId weight, ParamId bias, Init init, Rng& rng) {
  const auto& e = store.entry(weight);
  const T in = T(e.rows), out = T(e.cols);
  auto w = store.values().subspan(e.offset, e.size());
  auto b = store.values().subspan(store.entry(bias).offset, store.entry(bias).size());
  T bound = 0;
  switch (init) {
    case Init::xavier_uniform: bound = std::sqrt(T(6) / (in + out)); break;
    case Init::he_uniform: bound = std::sqrt(T(6) / in); break;
    case Init::torch_default: bound = T(1) / std::sqrt(in); break;
    case Init::automatic: throw std::logic_error("init_linear: Init::automatic was not resolved");
  }
  fill_uniform(rng, w, -bound, bound);
  if (init == Init::torch_default)
    fill_uniform(rng, b, -bound, bound);
  else
    std::fill(b.begin(), b.end(), T(0));
}

}  // namespace vk
