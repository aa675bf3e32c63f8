// Model kinds by name: the one place that turns config.json's `kind` (the flag --model) into a
// model. The kinds are listed once in vae/kinds/kind_list.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vae/config.hpp"
#include "vae/model.hpp"

namespace vk::vae {

// What a kind's numbers mean: a code without a density, a latent-variable model (bounds on log p(x),
// importance weighting), or an exact density (log p(x) by the change of variables).
enum class Family { autoencoder, latent, exact };

struct KindInfo {
  const char* name;
  Family family;
  bool variational;    // has a posterior q(z|x): family latent
  bool conditional;    // models p(x|y): takes labels
  bool stacked;        // latent layers above z (--latents)
  std::size_t latent;  // defaults of the mlp family where no flag sets them
  const char* hidden;
  const char* activation;
  const char* flags;   // the vae-train flags only this kind reads, space-separated; --name=default
                       // is a setting of the kind's own (ModelConfig::settings)
  const char* help;
};

std::span<const KindInfo> kinds();
// The kind of that name; throws std::invalid_argument listing the kinds otherwise.
const KindInfo& kind_info(const std::string& name);
// Throws std::invalid_argument when `flag` is some kind's own and not this one's, naming the kinds
// that read it.
void require_kind_reads(const KindInfo& kind, const std::string& flag);

// The kind's own settings (--name=default in its flags), and every kind's (each name once).
struct KindSetting {
  std::string name, default_value;
  std::string kinds;  // the kinds that take it, for help texts: "mog" or "mog, vamp"; where their
                      // defaults differ, all_kind_settings' default_value names each: "4 (vae), 8 (flow)"
};
std::vector<KindSetting> kind_settings(const KindInfo& kind);
std::vector<KindSetting> all_kind_settings();

// A new model of the kind c names, its parameters initialised from seed.
template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& c, std::uint64_t seed);

extern template std::unique_ptr<Model<float>> make_model(const ModelConfig&, std::uint64_t);
extern template std::unique_ptr<Model<double>> make_model(const ModelConfig&, std::uint64_t);

// The factories the list names, each defined in its kind's file.
#define VK_DECLARE_FACTORY(kind, factory, ...) \
  template <class T>                           \
  std::unique_ptr<Model<T>> factory(const ModelConfig& c, std::uint64_t seed);
#define VK_INSTANTIATE_FACTORY(factory)                                                   \
  template std::unique_ptr<Model<float>> factory(const ModelConfig&, std::uint64_t);      \
  template std::unique_ptr<Model<double>> factory(const ModelConfig&, std::uint64_t);

}  // namespace vk::vae
