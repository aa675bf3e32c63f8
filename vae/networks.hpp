// The encoder trunks and decoders of the architecture families, as layer types. A Model holds
// one family in a std::variant and visits it once per encode or decode; inside, every layer call
// is resolved at compile time.
//
// mlp:  the lecture's networks, widths from --hidden (the decoder mirrors them), activation from
//       --activation; parameters encoder.trunk.<i>.* and decoder.<i>.* as PyTorch names them.
// conv: the DCGAN-style VAE: 28x28x1 -> Conv2d(32, 4, 2, 1) -> 14x14x32 -> Conv2d(64, 4, 2, 1)
//       -> 7x7x64 -> 256 features, and back with transposed convolutions; ReLU throughout. Every
//       shape but the latent width and the decoder's channels per pixel is checked by the compiler.
// Both decoders give ModelConfig::decoder_channels() values per pixel, channels last: one (a
// logit or a mean), or the discretized logistic's parameters.
#pragma once

#include <cstddef>
#include <optional>
#include <variant>

#include "autodiff/sequential.hpp"
#include "vae/config.hpp"

namespace vk::vae {

class MlpNetworks {
 public:
  explicit MlpNetworks(const ModelConfig& c);

  // x [m, in] (the label already beside it where the encoder sees one) -> [m, hidden.back()].
  template <class T>
  Shape build_encoder(ParameterStore<T>& store, Rng& rng, Shape in) {
    return build_network(trunk_, store, "encoder.trunk", rng, in, Init::torch_default);
  }
  template <class T>
  Var<T> encode(ParameterStore<T>& store, Var<T> x) const { return trunk_.forward(store, x); }

  // z [m, in] -> [m, out]; with side features (width `side`), each layer sees them beside its
  // input: the label embedding at every decoder layer.
  template <class T>
  void build_decoder(ParameterStore<T>& store, Rng& rng, std::size_t in, std::size_t side) {
    LayerNames names = LayerNames::numbered("decoder");
    for (Dense& block : hidden_.blocks()) in = block.build(store, names, rng, Init::torch_default, features(in + side)).size();
    out_.build(store, names, rng, Init::torch_default, features(in + side));
  }
  template <class T>
  Var<T> decode(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> side) const {
    Var<T> h = z;
    for (const Dense& block : hidden_.blocks()) h = block.forward(store, side ? concat_cols(h, *side) : h);
    return out_.forward(store, side ? concat_cols(h, *side) : h);
  }

 private:
  Repeat<Dense> trunk_, hidden_;
  Linear<> out_;
};

class ConvNetworks {
 public:
  using Image = Input<1, 28, 28>;
  using Encoder = Sequential<Image, Conv2d<1, 32, 4, 2, 1>, Relu, Conv2d<32, 64, 4, 2, 1>, Relu,
                             Linear<64 * 7 * 7, 256>, Relu>;
  // The last layer's channels are the likelihood's values per pixel (ModelConfig::decoder_channels).
  using Decoder = Sequential<Linear<dynamic, 256>, Relu, Linear<256, 64 * 7 * 7>, Relu, Reshape<64, 7, 7>,
                             ConvTranspose2d<64, 32, 4, 2, 1>, Relu, ConvTranspose2d<32, dynamic, 4, 2, 1>>;
  static_assert(Encoder::static_output == features(256));
  static_assert(Decoder::static_output == image(dynamic, 28, 28), "the decoder gives back the encoder's image");

  static constexpr std::size_t default_latent = 32;  // where no flag sets it

  explicit ConvNetworks(const ModelConfig& c)
      : decoder_({}, {}, {}, {}, {}, {}, {}, ConvTranspose2d<32, dynamic, 4, 2, 1>(c.decoder_channels())) {}

  template <class T>
  Shape build_encoder(ParameterStore<T>& store, Rng& rng, Shape in) {
    return build_network(encoder_, store, "encoder.trunk", rng, in, Init::torch_default);
  }
  template <class T>
  Var<T> encode(ParameterStore<T>& store, Var<T> x) const { return encoder_.forward(store, x); }
  template <class T>
  void build_decoder(ParameterStore<T>& store, Rng& rng, std::size_t in, std::size_t) {
    build_network(decoder_, store, "decoder", rng, features(in), Init::torch_default);
  }
  template <class T>
  Var<T> decode(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>>) const {
    return decoder_.forward(store, z);
  }

 private:
  Encoder encoder_;
  Decoder decoder_;
};

using Networks = std::variant<MlpNetworks, ConvNetworks>;
Networks make_networks(const ModelConfig& c);

}  // namespace vk::vae
