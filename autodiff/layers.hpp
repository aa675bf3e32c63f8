// Layers and their composition.
//
// The layer contract. A layer type L provides
//   static constexpr std::size_t in_features, out_features: its widths, or `dynamic` when they
//     are known only at run time; activations are `width_preserving` and pass widths through;
//   static constexpr bool rectifier: whether a Linear layer before it should use He init;
//   template <class T> void build(ParameterStore<T>&, const std::string& name, Rng&, Init):
//     registers its parameters as "name.weight", "name.bias" and initialises them;
//   template <class T> Var<T> forward(ParameterStore<T>&, Var<T> x) const:
//     records its ops on x's tape and returns the output; x is [batch, in].
// Forward calls are resolved at compile time: no virtual call on the hot path.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "autodiff/init.hpp"
#include "autodiff/ops.hpp"

namespace vk {

inline constexpr std::size_t dynamic = 0;

template <std::size_t In = dynamic, std::size_t Out = dynamic>
class Linear {
 public:
  static constexpr std::size_t in_features = In;
  static constexpr std::size_t out_features = Out;
  static constexpr bool width_preserving = false;
  static constexpr bool rectifier = false;

  // Compile-time widths, or (dynamic) an empty layer to assign a sized one to later.
  Linear() : in_(In), out_(Out) {}
  Linear(std::size_t in, std::size_t out) : in_(in), out_(out) {
    if ((In != dynamic && in != In) || (Out != dynamic && out != Out) || in == 0 || out == 0)
      throw std::invalid_argument(fmt::format("Linear<{}, {}>: cannot be {} -> {}", In, Out, in, out));
  }

  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }
  ParamId weight() const { return weight_; }
  ParamId bias() const { return bias_; }

  template <class T>
  void build(ParameterStore<T>& store, const std::string& name, Rng& rng, Init init) {
    weight_ = store.add(name + ".weight", in_, out_);
    bias_ = store.add(name + ".bias", 1, out_);
    init_linear(store, weight_, bias_, init == Init::automatic ? Init::xavier_uniform : init, rng);
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    Tape<T>& t = *x.tape;
    return linear(x, t.param(store, weight_), t.param(store, bias_));
  }

 private:
  std::size_t in_, out_;
  ParamId weight_{}, bias_{};
};

enum class Activation { none, relu, leaky_relu, elu, tanh, sigmoid, softplus };

Activation parse_activation(const std::string& name);  // "relu", "tanh", ...; throws otherwise
const char* activation_name(Activation a);
inline bool is_rectifier(Activation a) {
  return a == Activation::relu || a == Activation::leaky_relu || a == Activation::elu;
}

template <class T>
Var<T> activate(Activation a, Var<T> x) {
  switch (a) {
    case Activation::none: return x;
    case Activation::relu: return relu(x);
    case Activation::leaky_relu: return leaky_relu(x, T(0.01));
    case Activation::elu: return elu(x, T(1));
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::softplus: return softplus(x);
  }
  return x;
}

// A parameter-free activation as a layer.
template <Activation A>
struct ActivationLayer {
  static constexpr std::size_t in_features = dynamic;
  static constexpr std::size_t out_features = dynamic;
  static constexpr bool width_preserving = true;
  static constexpr bool rectifier = A == Activation::relu || A == Activation::leaky_relu ||
                                    A == Activation::elu;
  template <class T>
  void build(ParameterStore<T>&, const std::string&, Rng&, Init) {}
  template <class T>
  Var<T> forward(ParameterStore<T>&, Var<T> x) const { return activate(A, x); }
};
using Relu = ActivationLayer<Activation::relu>;
using LeakyRelu = ActivationLayer<Activation::leaky_relu>;
using Elu = ActivationLayer<Activation::elu>;
using Tanh = ActivationLayer<Activation::tanh>;
using Sigmoid = ActivationLayer<Activation::sigmoid>;
using Softplus = ActivationLayer<Activation::softplus>;

// True when each layer's compile-time input width equals the output width before it
// (activations pass widths through; `dynamic` widths are checked at run time by the ops).
template <class... Layers>
constexpr bool composes() {
  std::size_t width = dynamic;
  bool ok = true;
  auto visit = [&](std::size_t in, std::size_t out, bool preserving) {
    if (preserving) return;
    if (width != dynamic && in != dynamic && in != width) ok = false;
    width = out;
  };
  (visit(Layers::in_features, Layers::out_features, Layers::width_preserving), ...);
  return ok;
}

// Layers applied in order; parameters named "name.<index>.weight" as in PyTorch's Sequential.
template <class... Layers>
class Sequential {
  static_assert(sizeof...(Layers) > 0, "Sequential needs at least one layer");
  static_assert(composes<Layers...>(),
                "Sequential: a layer's input width differs from the output width before it");

 public:
  Sequential() = default;
  explicit Sequential(Layers... layers) : layers_(std::move(layers)...) {}

  template <class T>
  void build(ParameterStore<T>& store, const std::string& name, Rng& rng,
             Init init = Init::automatic) {
    build_each<0>(store, name, rng, init);
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    return std::apply([&](const auto&... layer) {
      ((x = layer.forward(store, x)), ...);
      return x;
    }, layers_);
  }

  template <std::size_t I>
  const auto& layer() const { return std::get<I>(layers_); }

 private:
  template <std::size_t I, class T>
  void build_each(ParameterStore<T>& store, const std::string& name, Rng& rng, Init init) {
    if constexpr (I < sizeof...(Layers)) {
      Init chosen = init;
      if constexpr (I + 1 < sizeof...(Layers)) {
        using Next = std::tuple_element_t<I + 1, std::tuple<Layers...>>;
        if (init == Init::automatic && Next::rectifier) chosen = Init::he_uniform;
      }
      std::get<I>(layers_).build(store, name + "." + std::to_string(I), rng, chosen);
      build_each<I + 1>(store, name, rng, init);
    }
  }

  std::tuple<Layers...> layers_;
};

// A multilayer perceptron whose widths are chosen at run time (from flags or a manifest):
// widths {784, 400, 20} is Linear(784, 400), activation, Linear(400, 20). Parameters are named
// "name.0", "name.2", ... as PyTorch names Linear layers interleaved with activations.
class Mlp {
 public:
  Mlp() = default;
  Mlp(std::vector<std::size_t> widths, Activation hidden, Activation output = Activation::none);

  template <class T>
  void build(ParameterStore<T>& store, const std::string& name, Rng& rng,
             Init init = Init::automatic) {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Activation after = i + 1 < layers_.size() ? hidden_ : output_;
      const Init chosen =
          init != Init::automatic ? init : is_rectifier(after) ? Init::he_uniform : Init::xavier_uniform;
      layers_[i].build(store, name + "." + std::to_string(2 * i), rng, chosen);
    }
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      x = layers_[i].forward(store, x);
      x = activate(i + 1 < layers_.size() ? hidden_ : output_, x);
    }
    return x;
  }

  std::size_t in() const { return layers_.front().in(); }
  std::size_t out() const { return layers_.back().out(); }
  const std::vector<std::size_t>& widths() const { return widths_; }
  Activation hidden_activation() const { return hidden_; }

 private:
  std::vector<std::size_t> widths_;
  std::vector<Linear<>> layers_;
  Activation hidden_ = Activation::relu;
  Activation output_ = Activation::none;
};

}  // namespace vk
