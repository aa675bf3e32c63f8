// What the kinds with an encoder and a decoder share: the networks (vae/coder.hpp), the
// likelihood (vae/likelihood.hpp) and the hooks of training that forward to it.
#pragma once

#include <cstdint>

#include "vae/coder.hpp"
#include "vae/likelihood.hpp"
#include "vae/model.hpp"

namespace vk::vae {

template <class T>
class Coded : public Model<T> {
 public:
  DiagGaussian<T> encode(Var<T> x, std::optional<Var<T>> y = std::nullopt) override {
    return coder_.encode(this->store_, x, y);
  }
  Var<T> decode(Var<T> z, std::optional<Var<T>> y = std::nullopt) override {
    return likelihood_.link(coder_.decode(this->store_, z, y));
  }
  Var<T> mean_image(Var<T> decoded) const override { return likelihood_.mean(decoded); }
  bool draw_image(Var<T> decoded, Rng& rng, std::span<T> out) const override {
    return likelihood_.draw(this->store_, decoded, rng, out);
  }
  bool draws_images() const override { return likelihood_.draws(); }
  void begin_training(double v) override { likelihood_.begin_training(this->store_, v); }
  void after_step(std::size_t rows) override { likelihood_.after_step(this->store_, rows); }
  void end_epoch() override { likelihood_.end_epoch(this->store_); }
  NoiseModel<T>* noise() override { return likelihood_.noise(); }
  const NoiseModel<T>* noise() const override { return likelihood_.noise(); }

 protected:
  // Registers the networks, then the likelihood's parameters: that order fixes what a seed gives.
  Coded(const ModelConfig& c, Rng& rng, bool posterior, Likelihood<T> (*likelihood)(ParameterStore<T>&, const ModelConfig&))
      : Model<T>(c), coder_(this->config_), likelihood_(build(rng, posterior, likelihood)) {}

  Coder<T> coder_;
  Likelihood<T> likelihood_;

 private:
  Likelihood<T> build(Rng& rng, bool posterior, Likelihood<T> (*likelihood)(ParameterStore<T>&, const ModelConfig&)) {
    this->config_.validate();
    coder_.build(this->store_, rng, posterior);
    return likelihood(this->store_, this->config_);
  }
};

}  // namespace vk::vae
