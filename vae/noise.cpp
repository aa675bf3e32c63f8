#include "vae/noise.hpp"

#include <algorithm>
#include <cmath>

namespace vk::vae {

template <class T>
NoiseModel<T>::NoiseModel(ParameterStore<T>& store, Sigma mode, double fixed_sigma2, double floor, std::size_t dim)
    : mode_(mode), floor_(floor) {
  log_sigma2_ = store.add("log_sigma2", 1, mode == Sigma::per_pixel ? dim : 1);
  // The floor guards trained sigma^2 only: a fixed one is exactly what was asked for.
  const T lv = std::log(T(mode == Sigma::fixed ? fixed_sigma2 : 1.0));
  std::fill_n(store.value_data(log_sigma2_), store.entry(log_sigma2_).size(), lv);
}

template <class T>
Var<T> NoiseModel<T>::log_likelihood(ParameterStore<T>& store, Var<T> mean, Var<T> x, bool training) {
  Tape<T>& tape = *x.tape;
  Var<T> lv;
  if (training && mode_ == Sigma::optimal)
    lv = batch_log_sigma2_ = log(vk::mean(square(sub(x, mean))));
  else if (mode_ == Sigma::fixed || mode_ == Sigma::optimal)
    lv = tape.constant(store.value_data(log_sigma2_), 1, store.entry(log_sigma2_).cols);
  else
    lv = tape.param(store, log_sigma2_);
  return gaussian_loglik(mean, x, lv);
}

template <class T>
void NoiseModel<T>::begin_training(ParameterStore<T>& store, double data_variance) {
  if (mode_ != Sigma::fixed) set_sigma2(store, data_variance);
}

template <class T>
void NoiseModel<T>::after_step(ParameterStore<T>& store, std::size_t rows) {
  if (mode_ == Sigma::optimal && batch_log_sigma2_.tape && rows > 0) {
    squared_error_sum_ += std::exp(batch_log_sigma2_.item()) * double(rows);
    rows_seen_ += rows;
  }
  if (mode_ == Sigma::learned || mode_ == Sigma::per_pixel) {
    const T floor = std::log(T(floor_));
    T* lv = store.value_data(log_sigma2_);
    for (std::size_t j = 0; j < store.entry(log_sigma2_).size(); ++j) lv[j] = std::max(lv[j], floor);
  }
}

template <class T>
void NoiseModel<T>::end_epoch(ParameterStore<T>& store) {
  // The optimal sigma^2 of the epoch is the one evaluation and sampling use afterwards.
  if (mode_ == Sigma::optimal && rows_seen_) set_sigma2(store, squared_error_sum_ / double(rows_seen_));
  squared_error_sum_ = 0;
  rows_seen_ = 0;
  batch_log_sigma2_ = {};
}

template <class T>
T NoiseModel<T>::sigma2(const ParameterStore<T>& store) const {
  const std::size_t n = store.entry(log_sigma2_).size();
  const T* lv = store.value_data(log_sigma2_);
  T s = 0;
  for (std::size_t j = 0; j < n; ++j) s += std::exp(lv[j]);
  return s / T(n);
}

template <class T>
void NoiseModel<T>::add_noise(const ParameterStore<T>& store, std::span<T> x, Rng& rng) const {
  const T* lv = store.value_data(log_sigma2_);
  const std::size_t per = store.entry(log_sigma2_).cols;
  std::normal_distribution<T> normal;
  for (std::size_t e = 0; e < x.size(); ++e) x[e] += std::exp(T(0.5) * lv[per == 1 ? 0 : e % per]) * normal(rng);
}

template <class T>
void NoiseModel<T>::set_sigma2(ParameterStore<T>& store, double v) {
  const T lv = std::log(std::max(T(v), T(floor_)));
  std::fill_n(store.value_data(log_sigma2_), store.entry(log_sigma2_).size(), lv);
}

template class NoiseModel<float>;
template class NoiseModel<double>;

}  // namespace vk::vae
