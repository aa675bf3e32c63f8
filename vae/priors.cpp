#include "vae/priors.hpp"

#include <algorithm>
#include <stdexcept>

namespace vk::vae {

template <class T>
ClassPrior<T>::ClassPrior(ParameterStore<T>& store, Rng&, const ModelConfig& c)
    : mu_(store.add("prior.mu", c.classes, c.latent)), logvar_(store.add("prior.logvar", c.classes, c.latent)) {}

template <class T>
DiagGaussian<T> ClassPrior<T>::gaussian(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>> y) const {
  if (!y) throw std::invalid_argument("a learned class prior needs the label y");
  return {matmul(*y, tape.param(store, mu_)), matmul(*y, tape.param(store, logvar_))};
}

template <class T>
std::optional<ClosedFormKl<T>> ClassPrior<T>::closed_form_kl(ParameterStore<T>& store, const DiagGaussian<T>& q,
                                                             std::optional<Var<T>> y, bool per_dim) const {
  if (per_dim) throw std::invalid_argument("--free-bits takes the prior N(0, I), not a learned class prior");
  return ClosedFormKl<T>{kl_between(q, gaussian(store, *q.mu.tape, y)), std::nullopt};
}

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
DiagGaussian<T> GaussianNet<T>::forward(ParameterStore<T>& store, Var<T> x) const {
  Var<T> h = trunk_.forward(store, x);
  return {mu_.forward(store, h), logvar_.forward(store, h)};
}

template <class T>
StackedPrior<T>::StackedPrior(ParameterStore<T>& store, Rng& rng, const ModelConfig& c) {
  const std::vector<std::size_t> mirrored(c.hidden2.rbegin(), c.hidden2.rend());
  std::string name = "prior";
  std::size_t below = c.latent;
  // The order of registration is the order of initialisation: up, then down, layer by layer.
  for (std::size_t width : c.latents_above) {
    Layer& l = layers_.emplace_back(
        Layer{width, GaussianNet<T>(c.hidden2, c.activation, width), GaussianNet<T>(mirrored, c.activation, below)});
    l.up.build(store, rng, name + ".up", below);
    l.down.build(store, rng, name + ".down", width);
    name += ".prior";
    below = width;
  }
  if (layers_.empty()) throw std::invalid_argument("a stacked prior needs at least one latent layer above z");
}

template <class T>
std::size_t StackedPrior<T>::above() const {
  std::size_t n = 0;
  for (const Layer& l : layers_) n += l.width;
  return n;
}

template <class T>
Joint<T> StackedPrior<T>::joint(ParameterStore<T>& store, const DiagGaussian<T>& q, Var<T> z, std::optional<Var<T>>,
                                std::optional<Var<T>> eps_above) const {
  if (!eps_above) throw std::invalid_argument("a stacked prior needs the noise of the latents above z");
  Tape<T>& tape = *z.tape;
  const std::size_t n = layers_.size();
  // Up the stack: z_{l+1} ~ q(z_{l+1}|z_l), each layer its own columns of eps.
  std::vector<Var<T>> zs{z};
  std::vector<DiagGaussian<T>> ups;
  std::size_t col = 0;
  for (const Layer& l : layers_) {
    ups.push_back(l.up.forward(store, zs.back()));
    Var<T> eps = n == 1 ? *eps_above : slice_cols(*eps_above, col, col + l.width);
    zs.push_back(ups.back().rsample(eps));
    col += l.width;
  }
  // log p(z_L) + sum_l log p(z_l | z_{l+1}), from the top down.
  Var<T> log_p = standard_normal_density(tape, layers_.back().width).log_prob(zs.back());
  for (std::size_t l = n; l-- > 0;) {
    Var<T> lp = layers_[l].down.forward(store, zs[l + 1]).log_prob(zs[l]);
    log_p = add(lp, log_p);
  }
  // log q(z|x) + sum_l log q(z_{l+1} | z_l).
  Var<T> log_q = ups.back().log_prob(zs.back());
  for (std::size_t l = n - 1; l-- > 0;) {
    Var<T> lq = ups[l].log_prob(zs[l + 1]);
    log_q = add(lq, log_q);
  }
  Var<T> lq0 = q.log_prob(z);
  return {add(lq0, log_q), log_p};
}

template <class T>
Var<T> StackedPrior<T>::draw(ParameterStore<T>& store, Tape<T>& tape, std::optional<Var<T>>, std::size_t n,
                             Rng& rng) const {
  Var<T> z = standard_normal(tape, n, layers_.back().width, rng);
  for (std::size_t l = layers_.size(); l-- > 0;) z = layers_[l].down.forward(store, z).sample(tape, n, rng);
  return z;
}

template class ClassPrior<float>;
template class ClassPrior<double>;
template class GaussianNet<float>;
template class GaussianNet<double>;
template class StackedPrior<float>;
template class StackedPrior<double>;

}  // namespace vk::vae
