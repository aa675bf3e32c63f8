#include "vae/prior.hpp"

#include <algorithm>
#include <stdexcept>

namespace vk::vae {

template <class T>
Prior<T>::Prior(ParameterStore<T>& store, std::size_t latent, std::size_t classes) : latent_(latent) {
  if (classes == 0) return;
  mu_ = store.add("prior.mu", classes, latent);
  logvar_ = store.add("prior.logvar", classes, latent);
}

template <class T>
Gaussian<T> Prior<T>::of(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const {
  if (learned()) {
    if (!y) throw std::invalid_argument("a learned class prior needs the label y");
    return {matmul(*y, tape.param(store, *mu_)), matmul(*y, tape.param(store, *logvar_))};
  }
  Var<T> zeros = tape.constant_uninitialized(1, latent_);
  std::fill_n(zeros.node().value, latent_, T(0));
  return {zeros, zeros};
}

template <class T>
Var<T> Prior<T>::kl(ParameterStore<T>& store, const Gaussian<T>& q, std::optional<Var<T>> y) const {
  if (!learned()) return gaussian_kl(q.mu, q.logvar);
  // KL(N(mu, e^lv) || N(mu_y, e^lv_y)) = 1/2 sum_j (lv_y - lv + (e^lv + (mu - mu_y)^2) e^-lv_y - 1),
  // the closed form between diagonal Gaussians; at mu_y = 0, lv_y = 0 it is gaussian_kl.
  Tape<T>& tape = *q.mu.tape;
  const Gaussian<T> p = of(store, tape, y);
  Var<T> ratio = mul(add(exp(q.logvar), square(sub(q.mu, p.mu))), exp(scale(p.logvar, T(-1))));
  Var<T> k = tape.constant_uninitialized(1, 1);
  k.node().value[0] = T(latent_);
  return scale(sub(sum(add(sub(p.logvar, q.logvar), ratio), 1), k), T(0.5));
}

template class Prior<float>;
template class Prior<double>;

}  // namespace vk::vae
