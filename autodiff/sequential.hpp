// Composition of layers: Sequential<A, B, C> (a fixed list, its static shapes checked by the
// compiler) and Repeat<Block> (a block repeated a number of times a flag sets, e.g. the hidden
// layers of an MLP). Both are layers themselves.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "autodiff/layers.hpp"

namespace vk {
namespace detail {

// Instantiated for each layer of a Sequential with the layer that last set the shape (activations
// pass it through): when Next cannot take the static shape S that Source gives, compilation stops
// here and the compiler's "required from" lines name both layers and the shape.
template <class Source, class Next, Shape S>
struct LayerFits {
  static_assert(Next::accepts(S),
                "Sequential: a layer's input does not fit the output of the layer before it "
                "(LayerFits<Source, Next, Shape> names both layers and the shape)");
  static constexpr Shape output = Next::output_shape(S);
};

template <class L>
constexpr bool passes_shape_through = requires { L::passes_shape_through; };

template <class Source, Shape S, class... Rest>
struct Chain {
  static constexpr Shape output = S;
};
template <class Source, Shape S, class Next, class... Rest>
struct Chain<Source, S, Next, Rest...> {
  using NextSource = std::conditional_t<passes_shape_through<Next>, Source, Next>;
  static constexpr Shape output = Chain<NextSource, LayerFits<Source, Next, S>::output, Rest...>::output;
};

}  // namespace detail

// Layers applied in order; parameters named "name.<index>.weight" as in PyTorch's Sequential.
template <class First, class... Rest>
class Sequential {
 public:
  // The output shape as far as the types know it: checks every neighbouring pair.
  static constexpr Shape static_output = detail::Chain<First, First::output_shape(unknown_shape), Rest...>::output;
  static_assert(static_output == static_output);  // instantiates the chain with the type

  Sequential() = default;
  explicit Sequential(First first, Rest... rest) : layers_(std::move(first), std::move(rest)...) {}

  static constexpr bool accepts(Shape in) { return First::accepts(in); }
  static constexpr Shape output_shape(Shape in) {
    Shape s = First::output_shape(in);
    ((s = Rest::output_shape(s)), ...);
    return s;
  }
  bool rectifier() const { return std::get<0>(layers_).rectifier(); }

  // A Linear layer followed by a rectifier gets He initialisation when init is automatic.
  template <class T>
  Shape build(ParameterStore<T>& store, LayerNames& names, Rng& rng, Init init, Shape in) {
    return build_from<0>(store, names, rng, init, in);
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
  static constexpr std::size_t kCount = 1 + sizeof...(Rest);

  template <std::size_t I, class T>
  Shape build_from(ParameterStore<T>& store, LayerNames& names, Rng& rng, Init init, Shape in) {
    if constexpr (I == kCount) {
      return in;
    } else {
      Init chosen = init;
      if constexpr (I + 1 < kCount)
        if (init == Init::automatic && std::get<I + 1>(layers_).rectifier()) chosen = Init::he_uniform;
      const Shape out = std::get<I>(layers_).build(store, names, rng, chosen, in);
      return build_from<I + 1>(store, names, rng, init, out);
    }
  }

  std::tuple<First, Rest...> layers_;
};

// The same kind of block a run-time number of times (zero is the identity); each block's input
// is the output of the one before.
template <class Block>
class Repeat {
 public:
  Repeat() = default;
  explicit Repeat(std::vector<Block> blocks) : blocks_(std::move(blocks)) {}

  static constexpr bool accepts(Shape in) { return Block::accepts(in); }
  static constexpr Shape output_shape(Shape) { return unknown_shape; }
  bool rectifier() const { return !blocks_.empty() && blocks_.front().rectifier(); }

  template <class T>
  Shape build(ParameterStore<T>& store, LayerNames& names, Rng& rng, Init init, Shape in) {
    for (Block& b : blocks_) in = b.build(store, names, rng, init, in);
    return in;
  }
  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    for (const Block& b : blocks_) x = b.forward(store, x);
    return x;
  }

  const std::vector<Block>& blocks() const { return blocks_; }
  std::vector<Block>& blocks() { return blocks_; }

 private:
  std::vector<Block> blocks_;
};

// A fully connected layer and its activation, the block of an MLP.
using Dense = Sequential<Linear<>, Activation>;

// Dense blocks of the given output widths, each followed by `activation`.
Repeat<Dense> dense_stack(const std::vector<std::size_t>& widths, Op activation);

// An MLP classifier or regressor: dense hidden layers, then a linear output.
using Perceptron = Sequential<Repeat<Dense>, Linear<>>;
Perceptron perceptron(const std::vector<std::size_t>& hidden, std::size_t out, Op activation);

// Builds a whole network whose layers are named prefix.0, prefix.1, ...
template <class Net, class T>
Shape build_network(Net& net, ParameterStore<T>& store, const std::string& prefix, Rng& rng, Shape in,
                    Init init = Init::automatic) {
  LayerNames names = LayerNames::numbered(prefix);
  return net.build(store, names, rng, init, in);
}

}  // namespace vk
