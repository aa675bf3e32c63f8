// The lecture's autoencoders: x -> E(x) -> D(E(x)) with the squared error, and the regularized
// one with lambda ||E(x)||^2. Not density models: no posterior, so no importance weighting; their
// samples decode z ~ N(0, I) to show what an unregularized code space gives.
#include <memory>

#include "vae/kinds/coded.hpp"
#include "vae/registry.hpp"

namespace vk::vae {
namespace {

template <class T>
Likelihood<T> squared_error(ParameterStore<T>&, const ModelConfig&) {
  return Likelihood<T>::squared_error();
}

template <class T>
class Autoencoder final : public Coded<T> {
 public:
  Autoencoder(const ModelConfig& c, Rng& rng, bool penalty)
      : Coded<T>(c, rng, false, &squared_error<T>), penalty_(penalty) {}

  std::size_t noise_width() const override { return this->config_.latent; }
  bool variational() const override { return false; }

  LogWeights<T> log_weights(Var<T> x, std::optional<Var<T>> y, Var<T>, const Request& r) override {
    const DiagGaussian<T> code = this->encode(x, y);
    LogWeights<T> lw;
    lw.code = code.mu;
    lw.log_px = this->likelihood_.log_prob(this->store_, this->decode(code.mu, y), x, r.training);
    if (penalty_) lw.kl = scale(sum(square(code.mu), 1), T(this->config_.lambda));
    return lw;
  }
  Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>>, std::size_t n, Rng& rng) override {
    return standard_normal_density(tape, this->config_.latent).sample(tape, n, rng);
  }

 private:
  bool penalty_;
};

}  // namespace

template <class T>
std::unique_ptr<Model<T>> make_autoencoder(const ModelConfig& c, std::uint64_t seed) {
  Rng rng(seed);
  return std::make_unique<Autoencoder<T>>(c, rng, false);
}

template <class T>
std::unique_ptr<Model<T>> make_regularized_autoencoder(const ModelConfig& c, std::uint64_t seed) {
  Rng rng(seed);
  return std::make_unique<Autoencoder<T>>(c, rng, true);
}

VK_INSTANTIATE_FACTORY(make_autoencoder)
VK_INSTANTIATE_FACTORY(make_regularized_autoencoder)

}  // namespace vk::vae
