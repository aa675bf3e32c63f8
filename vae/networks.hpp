// The encoder trunks and decoders of the architecture families, as layer types. A Model holds
// one family in a std::variant and visits it once per encode or decode; inside, every layer call
// is resolved at compile time.
//
// mlp:  the lecture's networks, widths from --hidden (the decoder mirrors them), activation from
//       --activation; parameters encoder.trunk.<i>.* and decoder.<i>.* as PyTorch names them.
// conv: the DCGAN-style VAE: 28x28x1 -> Conv2d(32, 4, 2, 1) -> 14x14x32 -> Conv2d(64, 4, 2, 1)
//       -> 7x7x64 -> 256 features, and back with transposed convolutions; ReLU throughout. Every
//       shape but the latent width and the decoder's channels per pixel is checked by the compiler,
//       for each image shape the family is instantiated for (28x28x1, 32x32x3: Networks).
// Both decoders give ModelConfig::decoder_channels() values per pixel and channel, channels last:
// one (a logit or a mean), or the discretized logistic's parameters.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
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

// The conv family for images of C channels, H x W (each a multiple of 4): two stride-2
// convolutions to (H/4) x (W/4) x 64, 256 features, and back.
template <std::size_t C, std::size_t H, std::size_t W>
class ConvNetworks {
 public:
  static_assert(H % 4 == 0 && W % 4 == 0, "two stride-2 convolutions halve the sides twice");
  using Image = Input<C, H, W>;
  using Encoder = Sequential<Image, Conv2d<C, 32, 4, 2, 1>, Relu, Conv2d<32, 64, 4, 2, 1>, Relu,
                             Linear<64 * (H / 4) * (W / 4), 256>, Relu>;
  // The last layer's channels are C times the likelihood's values per pixel
  // (ModelConfig::decoder_channels): channel c * values + j is value j of colour c.
  using Decoder = Sequential<Linear<dynamic, 256>, Relu, Linear<256, 64 * (H / 4) * (W / 4)>, Relu,
                             Reshape<64, H / 4, W / 4>, ConvTranspose2d<64, 32, 4, 2, 1>, Relu,
                             ConvTranspose2d<32, dynamic, 4, 2, 1>>;
  static_assert(Encoder::static_output == features(256));
  static_assert(Decoder::static_output == image(dynamic, H, W), "the decoder gives back the encoder's image");

  explicit ConvNetworks(const ModelConfig& c)
      : decoder_({}, {}, {}, {}, {}, {}, {}, ConvTranspose2d<32, dynamic, 4, 2, 1>(C * c.decoder_channels())) {}

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

inline constexpr std::size_t conv_default_latent = 32;  // where no flag sets it

// Every image shape the conv family is built for is one alternative here (a new shape is one
// more ConvNetworks<C, H, W>); --arch conv on any other is an error that names these.
using Networks = std::variant<MlpNetworks, ConvNetworks<1, 28, 28>, ConvNetworks<3, 32, 32>>;

// Whether one of Networks' conv alternatives takes images of this shape.
bool conv_takes(Shape image);
// The one-line error of --arch conv on images of another shape, naming the shapes there are.
std::string conv_mismatch(Shape image);

Networks make_networks(const ModelConfig& c);

}  // namespace vk::vae
