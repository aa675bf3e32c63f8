#include "autodiff/optim.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <stdexcept>

#include "autodiff/parallel.hpp"

namespace vk {

template <class T>
Sgd<T>::Sgd(ParameterStore<T>& store, SgdOptions<T> options)
    : store_(store), options_(options), velocity_(options.momentum != T(0) ? store.size() : 0) {}

template <class T>
void Sgd<T>::step() {
  auto p = store_.values();
  auto g = store_.grads();
  const SgdOptions<T>& o = options_;
  for (std::size_t i = 0; i < p.size(); ++i) {
    T d = g[i] + o.weight_decay * p[i];
    if (o.momentum != T(0)) {
      velocity_[i] = started_ ? o.momentum * velocity_[i] + d : d;
      d = o.nesterov ? d + o.momentum * velocity_[i] : velocity_[i];
    }
    p[i] -= o.lr * d;
  }
  started_ = true;
}

template <class T>
Adam<T>::Adam(ParameterStore<T>& store, AdamOptions<T> options)
    : store_(store), options_(options), m_(store.size(), T(0)), v_(store.size(), T(0)) {}

template <class T>
void Adam<T>::step() {
  if (m_.size() != store_.size())
    throw std::logic_error("Adam: parameters were added after the optimizer was made");
  ++t_;
  const AdamOptions<T>& o = options_;
  const T c1 = T(1) - std::pow(o.beta1, T(t_));
  const T c2 = T(1) - std::pow(o.beta2, T(t_));
  const T step = o.lr / c1;
  const T root_c2 = std::sqrt(c2);
  const T decay = o.decoupled ? T(1) - o.lr * o.weight_decay : T(1);
  const T l2 = o.decoupled ? T(0) : o.weight_decay;
  // Scalars in locals: read through `o`, every store to p[i] could alias them and the loop
  // would not vectorize.
  const T b1 = o.beta1, b2 = o.beta2, eps = o.eps, inv_root_c2 = T(1) / root_c2;
  T* const pp = store_.values().data();
  const T* const pg = store_.grads().data();
  T* const pm = m_.data();
  T* const pv = v_.data();
  auto update = [=](std::size_t begin, std::size_t end) {
    T* __restrict p = pp;
    const T* __restrict g = pg;
    T* __restrict m = pm;
    T* __restrict v = pv;
    for (std::size_t i = begin; i < end; ++i) {
      const T gi = g[i] + l2 * p[i];
      m[i] = b1 * m[i] + (T(1) - b1) * gi;
      v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
      p[i] = decay * p[i] - step * m[i] / (std::sqrt(v[i]) * inv_root_c2 + eps);
    }
  };
  parallel::for_range(m_.size(), update);
}

template <class T>
void Adam<T>::restore(std::span<const T> m, std::span<const T> v, std::size_t steps) {
  if (m.size() != m_.size() || v.size() != v_.size())
    throw std::invalid_argument("Adam: saved moments of " + std::to_string(m.size()) + " values for " +
                                std::to_string(m_.size()) + " parameter values");
  std::copy(m.begin(), m.end(), m_.begin());
  std::copy(v.begin(), v.end(), v_.begin());
  t_ = steps;
}

template <class T>
T grad_norm(const ParameterStore<T>& store) {
  T s = 0;
  for (T g : store.grads()) s += g * g;
  return std::sqrt(s);
}

template <class T>
T clip_grad_norm(ParameterStore<T>& store, T max_norm) {
  const T norm = grad_norm(store);
  if (norm > max_norm) {
    const T f = max_norm / (norm + T(1e-6));
    for (T& g : store.grads()) g *= f;
  }
  return norm;
}

template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template float clip_grad_norm(ParameterStore<float>&, float);
template double clip_grad_norm(ParameterStore<double>&, double);
template float grad_norm(const ParameterStore<float>&);
template double grad_norm(const ParameterStore<double>&);

}  // namespace vk
