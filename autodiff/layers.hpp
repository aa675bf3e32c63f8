// Layers: types whose shapes are static where known and set at run time where a flag sets them.
//
// The layer contract. A layer type L provides
//   static constexpr bool accepts(Shape in): false only when the known extents of `in` contradict
//     the layer's static ones (Sequential turns that into a compile error naming both layers);
//   static constexpr Shape output_shape(Shape in): its output for an input of static shape `in`;
//   template <class T> Shape build(ParameterStore<T>&, LayerNames&, Rng&, Init, Shape in):
//     registers its parameters, named names.next() + ".weight" and so on, for the run-time input
//     shape `in`; throws std::invalid_argument naming the layer when `in` does not fit; returns
//     the run-time output shape;
//   bool rectifier() const: whether a Linear before it should use He initialisation;
//   template <class T> Var<T> forward(ParameterStore<T>&, Var<T> x) const: records its ops on x's
//     tape; x is [batch, in.size()] (images are rows, channels last).
// Calls are resolved at compile time: no virtual call on the hot path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "autodiff/init.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/shape.hpp"

namespace vk {

// Names layers as PyTorch's Sequential does: "prefix.0", "prefix.1", ... one index per layer,
// parameter-free ones included; or one fixed name for a layer that stands alone ("encoder.mu").
class LayerNames {
 public:
  static LayerNames numbered(std::string prefix) { return LayerNames(std::move(prefix), true); }
  static LayerNames exactly(std::string name) { return LayerNames(std::move(name), false); }
  std::string next() { return numbered_ ? prefix_ + "." + std::to_string(index_++) : prefix_; }

 private:
  LayerNames(std::string prefix, bool numbered) : prefix_(std::move(prefix)), numbered_(numbered) {}
  std::string prefix_;
  bool numbered_;
  std::size_t index_ = 0;
};

[[noreturn]] void layer_error(const std::string& layer, const std::string& name, Shape in);

// x·W + b with W [in, out]. Takes any input shape of In elements (an image is flattened, which
// costs nothing: it is already a row).
template <std::size_t In = dynamic, std::size_t Out = dynamic>
class Linear {
 public:
  Linear() : out_(Out) {}
  explicit Linear(std::size_t out) : out_(out) { check(0, out); }
  Linear(std::size_t in, std::size_t out) : in_(in), out_(out) { check(in, out); }

  static constexpr bool accepts(Shape in) { return same_or_dynamic(In, in.size()); }
  static constexpr Shape output_shape(Shape) { return features(Out); }
  bool rectifier() const { return false; }

  template <class T>
  Shape build(ParameterStore<T>& store, LayerNames& names, Rng& rng, Init init, Shape in) {
    const std::string name = names.next();
    if (!in.known() || !same_or_dynamic(In, in.size()) || !same_or_dynamic(in_, in.size()) || out_ == 0)
      layer_error(fmt::format("Linear<{}, {}> with {} outputs", In, Out, out_), name, in);
    in_ = in.size();
    weight_ = store.add(name + ".weight", in_, out_);
    bias_ = store.add(name + ".bias", 1, out_);
    init_weights(store, weight_, bias_, init == Init::automatic ? Init::xavier_uniform : init, rng, in_, out_);
    return features(out_);
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    Tape<T>& t = *x.tape;
    return linear(x, t.param(store, weight_), t.param(store, bias_));
  }

  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }
  ParamId weight() const { return weight_; }
  ParamId bias() const { return bias_; }

 private:
  static void check(std::size_t in, std::size_t out) {
    if (!same_or_dynamic(In, in) || !same_or_dynamic(Out, out) || out == 0)
      throw std::invalid_argument(fmt::format("Linear<{}, {}>: cannot be {} -> {}", In, Out, in, out));
  }
  std::size_t in_ = In, out_;
  ParamId weight_{}, bias_{};
};

namespace detail {

// The body Conv2d and ConvTranspose2d share. A convolution maps a large image to a small one and
// its transpose maps the small one back; ConvParams always describes the convolution. OutC may be
// `dynamic`: the output channels are then given at construction, as Linear<In, dynamic>'s width.
template <bool Transposed, std::size_t InC, std::size_t OutC, std::size_t Kernel, std::size_t Stride, std::size_t Padding>
class Convolution {
  static_assert(InC > 0 && Kernel > 0 && Stride > 0, "convolution: input channels, kernel and stride are positive");

 public:
  Convolution() : out_channels_(OutC) {}
  explicit Convolution(std::size_t out_channels) : out_channels_(out_channels) {
    if (!same_or_dynamic(OutC, out_channels) || out_channels == 0)
      throw std::invalid_argument(fmt::format("{}: cannot have {} output channels", describe(), out_channels));
  }

  static constexpr ConvParams geometry(Shape in, std::size_t out_channels = OutC) {
    const auto h = std::uint32_t(in.height), w = std::uint32_t(in.width), c = std::uint32_t(out_channels);
    return Transposed ? conv_transpose_geometry(h, w, InC, c, Kernel, Stride, Padding)
                      : conv_geometry(h, w, InC, c, Kernel, Stride, Padding);
  }
  static constexpr Shape output_shape(Shape in) {
    const ConvParams g = geometry(in);
    const std::size_t h = Transposed ? g.height : g.out_height, w = Transposed ? g.width : g.out_width;
    return {in.height == dynamic ? dynamic : h, in.width == dynamic ? dynamic : w, OutC};
  }
  static constexpr bool accepts(Shape in) {
    const Shape out = output_shape(in);
    return same_or_dynamic(InC, in.channels) && (in.height == dynamic || out.height > 0) &&
           (in.width == dynamic || out.width > 0);
  }
  bool rectifier() const { return false; }

  template <class T>
  Shape build(ParameterStore<T>& store, LayerNames& names, Rng& rng, Init init, Shape in) {
    const std::string name = names.next();
    if (!in.known() || !accepts(in) || out_channels_ == 0) layer_error(describe(), name, in);
    geometry_ = geometry(in, out_channels_);
    const std::size_t out = out_channels_;
    // [in, out] as for Linear: kernel^2 InC -> out, or InC -> kernel^2 out transposed.
    weight_ = Transposed ? store.add(name + ".weight", InC, geometry_.patch())
                         : store.add(name + ".weight", geometry_.patch(), out);
    bias_ = store.add(name + ".bias", 1, out);
    // Fans as PyTorch counts them; for a transposed convolution it counts the output channels in.
    const std::size_t fan_in = Kernel * Kernel * (Transposed ? out : InC);
    const std::size_t fan_out = Kernel * Kernel * (Transposed ? InC : out);
    init_weights(store, weight_, bias_, init == Init::automatic ? Init::xavier_uniform : init, rng, fan_in, fan_out);
    const Shape shape = output_shape(in);
    return {shape.height, shape.width, out};
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    Tape<T>& t = *x.tape;
    if constexpr (Transposed) return conv_transpose2d(x, t.param(store, weight_), t.param(store, bias_), geometry_);
    else return conv2d(x, t.param(store, weight_), t.param(store, bias_), geometry_);
  }

  std::size_t out_channels() const { return out_channels_; }

 private:
  std::string describe() const {
    const std::string layer = fmt::format("{}<{}, {}, {}, {}, {}>", Transposed ? "ConvTranspose2d" : "Conv2d", InC,
                                          OutC == dynamic ? std::string("dynamic") : std::to_string(OutC), Kernel,
                                          Stride, Padding);
    return OutC == dynamic ? fmt::format("{} with {} output channels", layer, out_channels_) : layer;
  }

  std::size_t out_channels_;
  ConvParams geometry_{};
  ParamId weight_{}, bias_{};
};

}  // namespace detail

// A square-kernel convolution of a channels-last image with InC channels into OutC channels:
// Conv2d<1, 32, 4, 2, 1> on a 28x28x1 image gives 14x14x32, known at compile time.
template <std::size_t InC, std::size_t OutC, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0>
class Conv2d : public detail::Convolution<false, InC, OutC, Kernel, Stride, Padding> {
 public:
  using detail::Convolution<false, InC, OutC, Kernel, Stride, Padding>::Convolution;
};

// The transposed convolution (the adjoint of Conv2d in its input): a HxW image with InC channels
// becomes ((H - 1) Stride - 2 Padding + Kernel) wide and high with OutC channels
// (ConvTranspose2d<32, dynamic, 4, 2, 1>(c): c of them, set at run time).
template <std::size_t InC, std::size_t OutC, std::size_t Kernel, std::size_t Stride = 1, std::size_t Padding = 0>
class ConvTranspose2d : public detail::Convolution<true, InC, OutC, Kernel, Stride, Padding> {
 public:
  using detail::Convolution<true, InC, OutC, Kernel, Stride, Padding>::Convolution;
};

// Declares the shape of what comes in: the first layer of a network whose shapes are static.
template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
struct Input {
  static constexpr Shape shape = image(C, H, W);
  static constexpr bool accepts(Shape in) { return !in.known() || in.size() == shape.size(); }
  static constexpr Shape output_shape(Shape) { return shape; }
  bool rectifier() const { return false; }
  template <class T>
  Shape build(ParameterStore<T>&, LayerNames&, Rng&, Init, Shape in) {
    if (in.size() != shape.size()) layer_error(fmt::format("Input of {}", shape.text()), "input", in);
    return shape;
  }
  template <class T>
  Var<T> forward(ParameterStore<T>&, Var<T> x) const { return x; }
};

// Reads the features as a C x H x W image (channels last). A row is already that image, so this
// records nothing; like PyTorch's Unflatten it takes a layer index.
template <std::size_t C, std::size_t H, std::size_t W>
struct Reshape {
  static constexpr Shape shape = image(C, H, W);
  static constexpr bool accepts(Shape in) { return same_or_dynamic(in.size(), shape.size()); }
  static constexpr Shape output_shape(Shape) { return shape; }
  bool rectifier() const { return false; }
  template <class T>
  Shape build(ParameterStore<T>&, LayerNames& names, Rng&, Init, Shape in) {
    const std::string name = names.next();
    if (in.size() != shape.size()) layer_error(fmt::format("Reshape<{}, {}, {}>", C, H, W), name, in);
    return shape;
  }
  template <class T>
  Var<T> forward(ParameterStore<T>&, Var<T> x) const { return x; }
};

// Group normalization of a channels-last image with C channels in G groups (Wu & He 2018): a
// per-channel scale (from 1) and shift (from 0) after normalizing each group of each image.
template <std::size_t C, std::size_t G>
class GroupNorm {
  static_assert(C > 0 && G > 0 && C % G == 0, "GroupNorm<C, G>: the groups divide the channels");

 public:
  static constexpr bool passes_shape_through = true;
  static constexpr bool accepts(Shape in) { return same_or_dynamic(C, in.channels); }
  static constexpr Shape output_shape(Shape in) { return in; }
  bool rectifier() const { return false; }

  template <class T>
  Shape build(ParameterStore<T>& store, LayerNames& names, Rng&, Init, Shape in) {
    const std::string name = names.next();
    if (!in.known() || in.channels != C) layer_error(fmt::format("GroupNorm<{}, {}>", C, G), name, in);
    gamma_ = store.add(name + ".weight", 1, C);
    beta_ = store.add(name + ".bias", 1, C);
    std::fill_n(store.value_data(gamma_), C, T(1));
    return in;
  }

  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x) const {
    Tape<T>& t = *x.tape;
    return group_norm(x, t.param(store, gamma_), t.param(store, beta_), GroupNormParams{C, G, 1e-5});
  }

 private:
  ParamId gamma_{}, beta_{};
};

// The rectifiers: a Linear layer before one starts with He initialisation.
constexpr bool is_rectifier(Op op) { return op == Op::relu || op == Op::leaky_relu || op == Op::elu; }

// An element-wise function of the op list as a layer, fixed at compile time (Activate<Op::relu>)
// or chosen by a flag (Activation).
template <Op F>
struct Activate {
  static_assert(is_unary(F), "Activate<Op>: the op must be an element-wise function of VK_OPS_UNARY");
  static constexpr bool passes_shape_through = true;
  static constexpr bool accepts(Shape) { return true; }
  static constexpr Shape output_shape(Shape in) { return in; }
  bool rectifier() const { return is_rectifier(F); }
  template <class T>
  Shape build(ParameterStore<T>&, LayerNames& names, Rng&, Init, Shape in) {
    names.next();
    return in;
  }
  template <class T>
  Var<T> forward(ParameterStore<T>&, Var<T> x) const { return apply_unary(F, x); }
};
using Relu = Activate<Op::relu>;
using Tanh = Activate<Op::tanh>;
using Sigmoid = Activate<Op::sigmoid>;
using Swish = Activate<Op::swish>;

class Activation {
 public:
  explicit Activation(Op f = Op::relu);
  static constexpr bool passes_shape_through = true;
  static constexpr bool accepts(Shape) { return true; }
  static constexpr Shape output_shape(Shape in) { return in; }
  bool rectifier() const { return is_rectifier(f_); }
  Op op() const { return f_; }
  template <class T>
  Shape build(ParameterStore<T>&, LayerNames& names, Rng&, Init, Shape in) {
    names.next();
    return in;
  }
  template <class T>
  Var<T> forward(ParameterStore<T>&, Var<T> x) const { return apply_unary(f_, x); }

 private:
  Op f_;
};

// "relu", "swish", ...: any element-wise function of the op list but scale. Throws naming them.
Op parse_activation(const std::string& name);

}  // namespace vk
