// The VAE kinds of the lecture and the step past it (vae/kinds/vae.hpp):
//   vae   p(z) = N(0, I)
//   cvae  the same, conditioned on y (--condition prior: p(z|y) learned per class)
//   hvae  p(z) a VAE over z2, whose prior may be a VAE again (StackedPrior)
#include <memory>

#include "vae/kinds/vae.hpp"
#include "vae/registry.hpp"

namespace vk::vae {

template <class T>
std::unique_ptr<Model<T>> make_vae(const ModelConfig& c, std::uint64_t seed) {
  Rng rng(seed);
  if (c.learned_prior()) return std::make_unique<Vae<T, ClassPrior<T>>>(c, rng);
  return std::make_unique<Vae<T, StandardNormalPrior<T>>>(c, rng);
}

template <class T>
std::unique_ptr<Model<T>> make_hvae(const ModelConfig& c, std::uint64_t seed) {
  Rng rng(seed);
  return std::make_unique<Vae<T, StackedPrior<T>>>(c, rng);
}

VK_INSTANTIATE_FACTORY(make_vae)
VK_INSTANTIATE_FACTORY(make_hvae)

}  // namespace vk::vae
