#include "vae/coder.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace vk::vae {

namespace {

// Networks' conv alternative for c's images, from alternative I on.
template <std::size_t I = 1>
Networks conv_networks(const ModelConfig& c) {
  if constexpr (I == std::variant_size_v<Networks>) {
    throw std::invalid_argument(conv_mismatch(c.image_shape()));
  } else {
    using Conv = std::variant_alternative_t<I, Networks>;
    if (Conv::Image::shape == c.image_shape()) return Conv(c);
    return conv_networks<I + 1>(c);
  }
}

template <std::size_t... I>
std::vector<Shape> conv_shapes(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I + 1, Networks>::Image::shape...};
}
std::vector<Shape> conv_shapes() { return conv_shapes(std::make_index_sequence<std::variant_size_v<Networks> - 1>()); }

}  // namespace

bool conv_takes(Shape image) {
  const std::vector<Shape> shapes = conv_shapes();
  return std::find(shapes.begin(), shapes.end(), image) != shapes.end();
}

std::string conv_mismatch(Shape image) {
  const std::vector<Shape> shapes = conv_shapes();
  std::string names;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    if (i > 0) names += i + 1 == shapes.size() ? " and " : ", ";
    names += shapes[i].text();
  }
  return fmt::format("--arch conv is built for {} images (height x width x channels); the data are {}", names,
                     image.text());
}

Networks make_networks(const ModelConfig& c) {
  if (c.architecture == Architecture::conv) return conv_networks(c);
  return MlpNetworks(c);
}

MlpNetworks::MlpNetworks(const ModelConfig& c)
    : trunk_(dense_stack(c.hidden, c.activation)),
      hidden_(dense_stack(std::vector<std::size_t>(c.hidden.rbegin(), c.hidden.rend()), c.activation)),
      out_(c.input_dim * c.decoder_channels()) {}

template <class T>
void Coder<T>::build(ParameterStore<T>& store, Rng& rng, bool posterior) {
  const ModelConfig& c = config_;
  // The order of registration is the order of initialisation: it fixes what a seed gives.
  const std::size_t label = c.label_in_encoder() ? c.classes : 0;
  const Shape trunk_out = std::visit(
      [&](auto& n) { return n.build_encoder(store, rng, features(c.input_dim + label)); }, nets_);
  trunk_width_ = trunk_out.size();
  LayerNames mu_name = LayerNames::exactly("encoder.mu");
  mu_head_ = Linear<>(c.latent);
  mu_head_.build(store, mu_name, rng, Init::torch_default, trunk_out);
  if (posterior) {
    // Zero weights: every posterior starts at unit variance and the KL sees only the means.
    LayerNames name = LayerNames::exactly("encoder.logvar");
    logvar_head_.emplace(c.latent);
    logvar_head_->build(store, name, rng, Init::torch_default, trunk_out);
    std::fill_n(store.value_data(logvar_head_->weight()), trunk_out.size() * c.latent, T(0));
    std::fill_n(store.value_data(logvar_head_->bias()), c.latent, T(0));
  }
  // The decoder's extra inputs: the one-hot label beside z, or the embedding beside every layer.
  const std::size_t beside_z = c.conditional() && !c.label_embedded() ? c.classes : 0;
  const std::size_t every = c.label_embedded() ? c.embedding : 0;
  std::visit([&](auto& n) { n.build_decoder(store, rng, c.latent + beside_z, every); }, nets_);
}

template <class T>
void Coder<T>::build_embedding(ParameterStore<T>& store, Rng& rng) {
  const ModelConfig& c = config_;
  if (!c.label_embedded()) return;
  // N(0, 1) as nn.Embedding starts: distinct classes start with distinct, unit-scale codes.
  embedding_ = store.add("label_embedding.weight", c.classes, c.embedding);
  fill_normal<T>(rng, std::span<T>(store.value_data(*embedding_), c.classes * c.embedding));
}

template <class T>
void Coder<T>::require_label(const std::optional<Var<T>>& y) const {
  if (config_.conditional() != y.has_value())
    throw std::invalid_argument(config_.conditional() ? "a conditional model needs the label y"
                                                      : "an unconditional model takes no label");
  if (y && y->cols() != config_.classes)
    throw std::invalid_argument(fmt::format("the model takes {} classes, the label has {} columns",
                                            config_.classes, y->cols()));
}

template <class T>
DiagGaussian<T> Coder<T>::encode(ParameterStore<T>& store, Var<T> x, std::optional<Var<T>> y, Var<T>* trunk) const {
  if (x.cols() != config_.input_dim)
    throw std::invalid_argument(fmt::format("the model takes {} inputs per example, the data has {}",
                                            config_.input_dim, x.cols()));
  require_label(y);
  // Condition::decoder takes y (one calling convention for every variant) but does not use it.
  Var<T> x_in = config_.label_in_encoder() ? concat_cols(x, *y) : x;
  Var<T> h = std::visit([&](const auto& n) { return n.encode(store, x_in); }, nets_);
  if (trunk) *trunk = h;
  DiagGaussian<T> q{mu_head_.forward(store, h), {}};
  if (logvar_head_) q.logvar = logvar_head_->forward(store, h);
  return q;
}

template <class T>
Var<T> Coder<T>::decode(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> y) const {
  require_label(y);
  std::optional<Var<T>> side;
  Var<T> h = z;
  if (config_.label_embedded())
    side = matmul(*y, z.tape->param(store, *embedding_));
  else if (y)
    h = concat_cols(z, *y);
  return std::visit([&](const auto& n) { return n.decode(store, h, side); }, nets_);
}

template class Coder<float>;
template class Coder<double>;

}  // namespace vk::vae
