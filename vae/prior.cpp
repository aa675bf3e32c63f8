#include "vae/prior.hpp"

#include <algorithm>
#include <stdexcept>

namespace vk::vae {

template <class T>
GaussianNet<T>::GaussianNet(const std::vector<std::size_t>& hidden, Op activation, std::size_t out)
    : trunk_(dense_stack(hidden, activation)), mu_(out), logvar_(out) {}

template <class T>
void GaussianNet<T>::build(ParameterStore<T>& store, Rng& rng, const std::string& name, std::size_t in) {
  const Shape h = build_network(trunk_, store, name + ".trunk", rng, features(in), Init::torch_default);
  LayerNames mu_name = LayerNames::exactly(name + ".mu"), logvar_name = LayerNames::exactly(name + ".logvar");
  mu_.build(store, mu_name, rng, Init::torch_default, h);
  logvar_.build(store, logvar_name, rng, Init::torch_default, h);
  // Unit variance to start with, as the encoder's log-variance head.
  std::fill_n(store.value_data(logvar_.weight()), h.size() * logvar_.out(), T(0));
  std::fill_n(store.value_data(logvar_.bias()), logvar_.out(), T(0));
}

template <class T>
Gaussian<T> GaussianNet<T>::forward(ParameterStore<T>& store, Var<T> x) const {
  Var<T> h = trunk_.forward(store, x);
  return {mu_.forward(store, h), logvar_.forward(store, h)};
}

template <class T>
Prior<T>::Prior(ParameterStore<T>& store, Rng& rng, const ModelConfig& c)
    : latent_(c.latent), hierarchical_(c.hierarchical()) {
  if (c.learned_prior()) {
    mu_ = store.add("prior.mu", c.classes, c.latent);
    logvar_ = store.add("prior.logvar", c.classes, c.latent);
  }
  if (hierarchical_) {
    latent2_ = c.latent2;
    up_ = GaussianNet<T>(c.hidden2, c.activation, c.latent2);
    down_ = GaussianNet<T>(std::vector<std::size_t>(c.hidden2.rbegin(), c.hidden2.rend()), c.activation, c.latent);
    up_.build(store, rng, "prior.up", c.latent);
    down_.build(store, rng, "prior.down", c.latent2);
  }
}

template <class T>
Gaussian<T> Prior<T>::of(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const {
  if (hierarchical_) throw std::logic_error("a hierarchical prior is not Gaussian: draw from it or use log_ratio");
  if (learned()) {
    if (!y) throw std::invalid_argument("a learned class prior needs the label y");
    return {matmul(*y, tape.param(store, *mu_)), matmul(*y, tape.param(store, *logvar_))};
  }
  Var<T> zeros = tape.constant_uninitialized(1, latent_);
  std::fill_n(zeros.node().value, latent_, T(0));
  return {zeros, zeros};
}

template <class T>
Var<T> Prior<T>::log_ratio(ParameterStore<T>& store, const Gaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
                           std::optional<Var<T>> eps2) const {
  Tape<T>& tape = *z.tape;
  if (!hierarchical_) return sub(log_density(q, z), log_density(of(store, tape, y), z));
  if (!eps2) throw std::invalid_argument("a hierarchical prior needs the noise of z2");
  const Gaussian<T> up = up_.forward(store, z);
  Var<T> z2 = reparameterize(up.mu, up.logvar, *eps2);
  Var<T> zeros = tape.constant_uninitialized(1, latent2_);
  std::fill_n(zeros.node().value, latent2_, T(0));
  Var<T> log_p = add(log_density(down_.forward(store, z2), z), log_density(Gaussian<T>{zeros, zeros}, z2));
  return sub(add(log_density(q, z), log_density(up, z2)), log_p);
}

template <class T>
Var<T> Prior<T>::kl(ParameterStore<T>& store, const Gaussian<T>& q, Var<T> z, std::optional<Var<T>> y,
                    std::optional<Var<T>> eps2) const {
  if (hierarchical_) return log_ratio(store, q, z, y, eps2);
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

template <class T>
Var<T> Prior<T>::draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) const {
  if (!hierarchical_) return draw_z(tape, of(store, tape, y), n, rng);
  Var<T> z2 = standard_normal(tape, n, latent2_, rng);
  return draw_z(tape, down_.forward(store, z2), n, rng);
}

template class GaussianNet<float>;
template class GaussianNet<double>;
template class Prior<float>;
template class Prior<double>;

}  // namespace vk::vae
