// The invertible maps of normalizing flows, each a Transform (vae/distributions.hpp): forward and
// inverse with log|det J| per row, built from the tape's ops so that the forward direction (the
// one a density is trained through) is differentiated like any network.
//   Permutation     fixed reordering of the columns (log det 0)
//   ActNorm         y = (z + b) e^s per column; b and s set from the first batch so that y has zero
//                   mean and unit variance per column (Glow, Kingma & Dhariwal 2018)
//   LuLinear        y = P(z L U): an invertible linear map in LU form, log det = sum log diag U
//                   (Glow's invertible 1x1 convolution, fully connected)
//   AffineCoupling  half the columns condition a scale and shift of the other half through a
//                   network of our layers, s = scale tanh(raw) bounded (RealNVP, Dinh et al. 2017)
//   Logit           x in [0, 1] -> logit(a + (1 - 2a) x), the pre-transform of dequantized pixels
// The inverse of LuLinear solves with the current weights as constants: it serves sampling and
// checks, not training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/sequential.hpp"
#include "vae/distributions.hpp"

namespace vk::vae::flows {

// A [rows, 1] column holding the sum of a [1, d] row: a log-determinant shared by every row.
template <class T>
Var<T> per_row(Var<T> row_sum, std::size_t rows) {
  return add(zeros(*row_sum.tape, rows, 1), row_sum);
}

template <class T>
class Permutation {
 public:
  explicit Permutation(std::vector<std::uint32_t> order);
  static Permutation random(std::size_t dim, Rng& rng);
  static Permutation reversed(std::size_t dim);

  Pushed<T> forward(ParameterStore<T>&, Var<T> z) const {
    return {permute_cols(z, std::span<const std::uint32_t>(order_)), zeros(*z.tape, z.rows(), 1)};
  }
  Pushed<T> inverse(ParameterStore<T>&, Var<T> z) const {
    return {permute_cols(z, std::span<const std::uint32_t>(inverse_)), zeros(*z.tape, z.rows(), 1)};
  }

 private:
  std::vector<std::uint32_t> order_, inverse_;
};

template <class T>
class ActNorm {
 public:
  ActNorm(ParameterStore<T>& store, const std::string& name, std::size_t dim);
  // Sets b = -mean and s = -log std of z's columns (a batch as the layer sees it).
  void initialize(ParameterStore<T>& store, Var<T> z) const;
  Pushed<T> forward(ParameterStore<T>& store, Var<T> z) const;
  Pushed<T> inverse(ParameterStore<T>& store, Var<T> y) const;

 private:
  ParamId log_scale_, shift_;
};

template <class T>
class LuLinear {
 public:
  // Starts as the permutation alone (L = U = I), as nflows' identity initialization; rng draws
  // the permutation, which is not a parameter (a model that loads a checkpoint must draw the same).
  LuLinear(ParameterStore<T>& store, const std::string& name, std::size_t dim, Rng& rng);
  Pushed<T> forward(ParameterStore<T>& store, Var<T> z) const;
  Pushed<T> inverse(ParameterStore<T>& store, Var<T> y) const;

 private:
  Var<T> lower(ParameterStore<T>& store, Tape<T>& tape) const;
  Var<T> upper(ParameterStore<T>& store, Tape<T>& tape) const;

  std::size_t dim_;
  ParamId lower_, upper_, log_diag_;
  std::vector<T> lower_mask_, upper_mask_, identity_;
  Permutation<T> permutation_;
};

template <class T>
class AffineCoupling {
 public:
  // `second` conditions on the second half and transforms the first; hidden and activation
  // make the conditioner's network, whose last layer starts at zero (the identity map).
  AffineCoupling(ParameterStore<T>& store, const std::string& name, std::size_t dim, bool second,
                 const std::vector<std::size_t>& hidden, Op activation, Rng& rng);
  Pushed<T> forward(ParameterStore<T>& store, Var<T> z) const;
  Pushed<T> inverse(ParameterStore<T>& store, Var<T> y) const;

 private:
  struct Affine {
    Var<T> log_scale, shift;
  };
  Affine conditioner(ParameterStore<T>& store, Var<T> fixed) const;
  std::pair<Var<T>, Var<T>> halves(Var<T> z) const;  // (fixed, changed)
  Var<T> join(Var<T> fixed, Var<T> changed) const;

  std::size_t dim_, fixed_;  // fixed_: the conditioning half's width
  bool second_;
  Repeat<Dense> hidden_;
  Linear<> out_;
  ParamId scale_;
};

template <class T>
class Logit {
 public:
  explicit Logit(double alpha = 0.05) : alpha_(alpha) {}
  Pushed<T> forward(ParameterStore<T>&, Var<T> x) const;
  Pushed<T> inverse(ParameterStore<T>&, Var<T> y) const;
  double alpha() const { return alpha_; }

 private:
  // sum_j log(1 - 2a) - log p_j - log(1 - p_j) for p = a + (1 - 2a) x: d logit(p) / dx per row.
  Var<T> log_det_at(Var<T> p) const;
  double alpha_;
};

#define VK_FLOW_TRANSFORMS(X) X(Permutation) X(ActNorm) X(LuLinear) X(AffineCoupling) X(Logit)
#define VK_EXTERN_TRANSFORM(name) extern template class name<float>; extern template class name<double>;
VK_FLOW_TRANSFORMS(VK_EXTERN_TRANSFORM)
#undef VK_EXTERN_TRANSFORM

}  // namespace vk::vae::flows
