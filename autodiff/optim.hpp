// Optimizers: one flat loop over a ParameterStore's values and gradients.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "autodiff/params.hpp"

namespace vk {

template <class T>
struct SgdOptions {
  T lr = T(0.01);
  T momentum = T(0);
  T weight_decay = T(0);  // L2 penalty added to the gradient
  bool nesterov = false;
};

// SGD with momentum as PyTorch defines it: b = momentum * b + g; p -= lr * b.
template <class T>
class Sgd {
 public:
  Sgd(ParameterStore<T>& store, SgdOptions<T> options);
  void step();
  void zero_grad() { store_.zero_grad(); }
  SgdOptions<T>& options() { return options_; }

 private:
  ParameterStore<T>& store_;
  SgdOptions<T> options_;
  std::vector<T> velocity_;
  bool started_ = false;
};

template <class T>
struct AdamOptions {
  T lr = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T eps = T(1e-8);
  T weight_decay = T(0);
  bool decoupled = false;  // true: AdamW (decay the weights, not the gradient)
};

// Adam with bias correction (Kingma & Ba, 2015); AdamW when options.decoupled.
template <class T>
class Adam {
 public:
  Adam(ParameterStore<T>& store, AdamOptions<T> options);
  void step();
  void zero_grad() { store_.zero_grad(); }
  AdamOptions<T>& options() { return options_; }
  std::size_t steps() const { return t_; }
  // The moments, one per parameter value, and the step count: what continuing a run needs.
  const std::vector<T>& first_moments() const { return m_; }
  const std::vector<T>& second_moments() const { return v_; }
  // Throws std::invalid_argument unless m and v have one value per parameter value.
  void restore(std::span<const T> m, std::span<const T> v, std::size_t steps);

 private:
  ParameterStore<T>& store_;
  AdamOptions<T> options_;
  std::vector<T> m_, v_;
  std::size_t t_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
template <class T>
T clip_grad_norm(ParameterStore<T>& store, T max_norm);

template <class T>
T grad_norm(const ParameterStore<T>& store);

}  // namespace vk
