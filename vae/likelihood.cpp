#include "vae/likelihood.hpp"

#include <cmath>

namespace vk::vae {

template <class T>
bool LogisticLikelihood<T>::draw(const ParameterStore<T>&, Var<T> params, Rng& rng, std::span<T> out) const {
  const std::size_t k = settings.components, w = settings.per_pixel(), n = params.rows() * params.cols() / w;
  const T* p = params.node().value;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (std::size_t e = 0; e < n; ++e, p += w) {
    std::size_t c = 0;
    if (k > 1) {  // c ~ softmax(logits) by its CDF
      const T* logits = p + 2 * k;
      const T top = *std::max_element(logits, logits + k);
      double total = 0;
      for (std::size_t i = 0; i < k; ++i) total += std::exp(double(logits[i] - top));
      double r = uniform(rng) * total;
      for (c = 0; c + 1 < k; ++c) {
        r -= std::exp(double(logits[c] - top));
        if (r < 0) break;
      }
    }
    // Inverse CDF of the logistic at u in (0, 1), then the bin the value falls in.
    double u = uniform(rng);
    while (u <= 0) u = uniform(rng);
    const double ls = std::max(double(p[k + c]), kLogisticMinLogScale);
    const double x = double(p[c]) + std::exp(ls) * (std::log(u) - std::log1p(-u));
    out[e] = T(std::clamp(std::round(x * 255), 0.0, 255.0) / 255);
  }
  return true;
}

template <class T>
Likelihood<T>::Likelihood(ParameterStore<T>& store, const ModelConfig& c) : kind_(BernoulliLikelihood<T>{}) {
  if (c.likelihood == LikelihoodKind::gaussian)
    kind_ = GaussianLikelihood<T>{NoiseModel<T>(store, c.sigma, c.fixed_sigma2, c.min_sigma2, c.input_dim)};
  if (c.likelihood == LikelihoodKind::logistic)
    kind_ = LogisticLikelihood<T>{LogisticParams{std::uint32_t(c.logistic_mixture)}};
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

template struct LogisticLikelihood<float>;
template struct LogisticLikelihood<double>;
template class Likelihood<float>;
template class Likelihood<double>;

}  // namespace vk::vae
