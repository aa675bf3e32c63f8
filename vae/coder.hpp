// The encoder and decoder networks of a model kind with how a conditional model sees its label:
// the architecture family (vae/networks.hpp, visited once per call), the heads mu(x) and, for a
// posterior, log Sigma(x), and the label one-hot beside x and z or as a learned embedding beside
// every decoder layer.
//
// Parameter names: encoder.trunk.<i>.{weight,bias}, encoder.mu.*, encoder.logvar.*, decoder.<i>.*,
// label_embedding.weight [classes, embedding] (Condition::embedding).
#pragma once

#include <cstddef>
#include <optional>

#include "vae/config.hpp"
#include "vae/distributions.hpp"
#include "vae/networks.hpp"

namespace vk::vae {

template <class T>
class Coder {
 public:
  explicit Coder(const ModelConfig& c) : config_(c), nets_(make_networks(c)) {}

  // Registers encoder.* (with the log-variance head when `posterior`) and decoder.*; the label
  // embedding comes apart (build_embedding), after what a kind registers in between, so that a
  // seed gives what it always gave.
  void build(ParameterStore<T>& store, Rng& rng, bool posterior);
  void build_embedding(ParameterStore<T>& store, Rng& rng);

  // q(z|x) = N(mu(x), diag e^{logvar(x)}); logvar absent without a posterior. With `trunk`, the
  // trunk's output h(x) too (the context of a posterior flow), trunk_width() columns.
  DiagGaussian<T> encode(ParameterStore<T>& store, Var<T> x, std::optional<Var<T>> y, Var<T>* trunk = nullptr) const;
  std::size_t trunk_width() const { return trunk_width_; }
  // The decoder's last layer, before a likelihood's link.
  Var<T> decode(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> y) const;
  // Throws unless y is given exactly when the model is conditional, with its classes as columns.
  void require_label(const std::optional<Var<T>>& y) const;

 private:
  const ModelConfig& config_;
  Networks nets_;
  Linear<> mu_head_;
  std::optional<Linear<>> logvar_head_;
  std::optional<ParamId> embedding_;
  std::size_t trunk_width_ = 0;
};

extern template class Coder<float>;
extern template class Coder<double>;

}  // namespace vk::vae
