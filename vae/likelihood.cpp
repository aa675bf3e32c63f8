#include "vae/likelihood.hpp"

namespace vk::vae {

template <class T>
Likelihood<T>::Likelihood(ParameterStore<T>& store, const ModelConfig& c) : kind_(BernoulliLikelihood<T>{}) {
  if (c.likelihood == LikelihoodKind::gaussian)
    kind_ = GaussianLikelihood<T>{NoiseModel<T>(store, c.sigma, c.fixed_sigma2, c.min_sigma2, c.input_dim)};
}

template <class T>
void Likelihood<T>::begin_training(ParameterStore<T>& store, double data_pixel_variance) {
  if (NoiseModel<T>* n = noise()) n->begin_training(store, data_pixel_variance);
}

template <class T>
void Likelihood<T>::after_step(ParameterStore<T>& store, std::size_t rows) {
  if (NoiseModel<T>* n = noise()) n->after_step(store, rows);
}

template <class T>
void Likelihood<T>::end_epoch(ParameterStore<T>& store) {
  if (NoiseModel<T>* n = noise()) n->end_epoch(store);
}

template class Likelihood<float>;
template class Likelihood<double>;

}  // namespace vk::vae
