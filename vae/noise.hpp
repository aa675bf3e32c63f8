// The noise model x = D(z) + e, e ~ N(0, sigma^2 I) of the Gaussian likelihood, and everything
// that decides sigma^2: its mode, its start from the data, the floor that keeps a trained one
// from collapsing, the clamp after each step and the optimum at the end of an epoch. The trainer
// calls the three hooks and never asks which mode it is.
#pragma once

#include <cstddef>
#include <span>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"
#include "vae/config.hpp"

namespace vk::vae {

template <class T>
class NoiseModel {
 public:
  // Registers log_sigma2, [1,1] or [1, dim] per pixel, in store.
  NoiseModel(ParameterStore<T>& store, Sigma mode, double fixed_sigma2, double floor, std::size_t dim);

  // log p(x | mean) per row, [rows, 1]. Training with Sigma::optimal uses this batch's mean
  // squared error as sigma^2 (and the gradient flows through it); otherwise the stored sigma^2,
  // a trained parameter in the learned modes and a constant in the others.
  Var<T> log_likelihood(ParameterStore<T>& store, Var<T> mean, Var<T> x, bool training);

  // Hooks of a training run: before it (sigma^2 starts at the data's pixel variance, the optimum
  // for a decoder that outputs the mean image), after each optimizer step, after each epoch.
  void begin_training(ParameterStore<T>& store, double data_variance);
  void after_step(ParameterStore<T>& store, std::size_t rows);
  void end_epoch(ParameterStore<T>& store);

  // sigma^2 averaged over pixels.
  T sigma2(const ParameterStore<T>& store) const;
  // x += e ~ N(0, sigma^2 I) for rows of `dim` pixels.
  void add_noise(const ParameterStore<T>& store, std::span<T> x, Rng& rng) const;
  // Every sigma^2 = max(v, floor).
  void set_sigma2(ParameterStore<T>& store, double v);

  // What the optimal mode has gathered of the epoch so far, for a run stopped within an epoch.
  struct EpochProgress {
    double squared_error_sum = 0;
    std::size_t rows = 0;
  };
  EpochProgress epoch_progress() const { return {squared_error_sum_, rows_seen_}; }
  void restore(EpochProgress p) {
    squared_error_sum_ = p.squared_error_sum;
    rows_seen_ = p.rows;
  }

 private:
  Sigma mode_;
  double floor_;
  ParamId log_sigma2_;
  Var<T> batch_log_sigma2_{};  // the optimal mode's value on the last training batch
  double squared_error_sum_ = 0;
  std::size_t rows_seen_ = 0;
};

extern template class NoiseModel<float>;
extern template class NoiseModel<double>;

}  // namespace vk::vae
