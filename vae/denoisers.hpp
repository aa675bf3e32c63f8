// The noise predictor eps(x_t, t) of a diffusion model (vae/kinds/diffusion.cpp): a small U-Net of
// the project's layers (Ho et al. 2020's, cut down for a 2-core CPU), typed as ConvNetworks is, so
// the compiler checks that every piece fits the next:
//
//   x_t  H x W x C --conv 3x3--> B --res--> B ----------------------------------------(skip)--+
//                                           |-conv 3x3 stride 2-> H/2: res -> 2B ---(skip)-+  |
//                                                   |-conv 3x3 stride 2-> H/4: res -> 2B   |  |
//                                                   |<-transposed conv 4x4 stride 2 -------+  |
//                        H/2: [2B | 2B] -res-> 2B <-+                                         |
//                        H:   [B | B] -res-> B <-transposed conv <----------------------------+
//                        -> group norm, SiLU, conv 3x3 -> H x W x C (the predicted noise)
//
// Each residual block is GroupNorm, SiLU, conv 3x3, plus the block's projection of the time
// embedding at every pixel (tile_pixels), GroupNorm, SiLU, conv 3x3, plus the input (through a 1x1
// conv where the channels change). The time embedding is t's sinusoids (Vaswani et al.) through
// Linear, SiLU, Linear, then SiLU before each block's projection. Skips join by channels
// (concat_channels). Parameters denoiser.<part>.<layer>.{weight,bias}.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <variant>

#include "autodiff/sequential.hpp"

namespace vk::vae {

template <std::size_t Cin, std::size_t Cout, std::size_t H, std::size_t W, std::size_t E, std::size_t G>
class ResBlock {
 public:
  using First = Sequential<Input<Cin, H, W>, GroupNorm<Cin, G>, Swish, Conv2d<Cin, Cout, 3, 1, 1>>;
  using Second = Sequential<Input<Cout, H, W>, GroupNorm<Cout, G>, Swish, Conv2d<Cout, Cout, 3, 1, 1>>;
  using Time = Sequential<Input<E>, Swish, Linear<E, Cout>>;
  using Skip = Sequential<Input<Cin, H, W>, Conv2d<Cin, Cout, 1, 1, 0>>;
  static_assert(First::static_output == image(Cout, H, W) && Second::static_output == image(Cout, H, W));
  static_assert(Time::static_output == features(Cout), "the time embedding adds one value per channel");

  template <class T>
  void build(ParameterStore<T>& store, Rng& rng, const std::string& name) {
    build_network(first_, store, name + ".in", rng, image(Cin, H, W));
    build_network(time_, store, name + ".time", rng, features(E));
    build_network(second_, store, name + ".out", rng, image(Cout, H, W));
    if constexpr (Cin != Cout) build_network(skip_, store, name + ".skip", rng, image(Cin, H, W));
  }

  // x [m, H W Cin], time [m, E] -> [m, H W Cout]
  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x, Var<T> time) const {
    Var<T> h = add(first_.forward(store, x), tile_pixels(time_.forward(store, time), H * W));
    h = second_.forward(store, h);
    if constexpr (Cin != Cout) return add(h, skip_.forward(store, x));
    else return add(h, x);
  }

 private:
  First first_;
  Second second_;
  Time time_;
  Skip skip_;
};

// The U-Net for images of C channels, H x W (multiples of 4), base width B.
template <std::size_t C, std::size_t H, std::size_t W, std::size_t B>
class UNet {
 public:
  static_assert(H % 4 == 0 && W % 4 == 0, "two stride-2 convolutions halve the sides twice");
  static_assert(B % 4 == 0, "group norm in groups of B / 4 channels");
  static constexpr std::size_t E = 2 * B, G = B / 4;  // the time embedding's width; groups
  static constexpr std::size_t H2 = H / 2, W2 = W / 2, H4 = H / 4, W4 = W / 4;
  static constexpr std::size_t kSinusoids = B;  // the width of t's sinusoids

  using TimeMlp = Sequential<Input<kSinusoids>, Linear<kSinusoids, E>, Swish, Linear<E, E>>;
  using Stem = Sequential<Input<C, H, W>, Conv2d<C, B, 3, 1, 1>>;
  using Res0 = ResBlock<B, B, H, W, E, G>;
  using Down0 = Sequential<Input<B, H, W>, Conv2d<B, B, 3, 2, 1>>;
  using Res1 = ResBlock<B, 2 * B, H2, W2, E, G>;
  using Down1 = Sequential<Input<2 * B, H2, W2>, Conv2d<2 * B, 2 * B, 3, 2, 1>>;
  using Mid = ResBlock<2 * B, 2 * B, H4, W4, E, G>;
  using Up1 = Sequential<Input<2 * B, H4, W4>, ConvTranspose2d<2 * B, 2 * B, 4, 2, 1>>;
  using Res3 = ResBlock<4 * B, 2 * B, H2, W2, E, G>;  // the upsampled 2B beside Res1's 2B
  using Up0 = Sequential<Input<2 * B, H2, W2>, ConvTranspose2d<2 * B, B, 4, 2, 1>>;
  using Res4 = ResBlock<2 * B, B, H, W, E, G>;  // the upsampled B beside Res0's B
  using Head = Sequential<Input<B, H, W>, GroupNorm<B, G>, Swish, Conv2d<B, C, 3, 1, 1>>;
  static_assert(Down0::static_output == image(B, H2, W2) && Down1::static_output == image(2 * B, H4, W4),
                "each stride-2 convolution halves the sides");
  static_assert(Up1::static_output == image(2 * B, H2, W2) && Up0::static_output == image(B, H, W),
                "each transposed convolution doubles them back to its skip's");
  static_assert(Head::static_output == image(C, H, W), "the predicted noise has the image's shape");

  static constexpr Shape shape() { return image(C, H, W); }

  template <class T>
  void build(ParameterStore<T>& store, Rng& rng) {
    build_network(time_, store, "denoiser.time", rng, features(kSinusoids));
    build_network(stem_, store, "denoiser.stem", rng, image(C, H, W));
    res0_.build(store, rng, "denoiser.res0");
    build_network(down0_, store, "denoiser.down0", rng, image(B, H, W));
    res1_.build(store, rng, "denoiser.res1");
    build_network(down1_, store, "denoiser.down1", rng, image(2 * B, H2, W2));
    mid_.build(store, rng, "denoiser.mid");
    build_network(up1_, store, "denoiser.up1", rng, image(2 * B, H4, W4));
    res3_.build(store, rng, "denoiser.res3");
    build_network(up0_, store, "denoiser.up0", rng, image(2 * B, H2, W2));
    res4_.build(store, rng, "denoiser.res4");
    build_network(head_, store, "denoiser.head", rng, image(B, H, W));
  }

  // x_t [m, H W C] and t's sinusoids [m, kSinusoids] -> the predicted noise [m, H W C].
  template <class T>
  Var<T> forward(ParameterStore<T>& store, Var<T> x, Var<T> sinusoids) const {
    const Var<T> time = time_.forward(store, sinusoids);
    const Var<T> s0 = res0_.forward(store, stem_.forward(store, x), time);
    const Var<T> s1 = res1_.forward(store, down0_.forward(store, s0), time);
    const Var<T> mid = mid_.forward(store, down1_.forward(store, s1), time);
    const Var<T> u1 = res3_.forward(store, concat_channels(up1_.forward(store, mid), s1, H2 * W2), time);
    const Var<T> u0 = res4_.forward(store, concat_channels(up0_.forward(store, u1), s0, H * W), time);
    return head_.forward(store, u0);
  }

 private:
  TimeMlp time_;
  Stem stem_;
  Res0 res0_;
  Down0 down0_;
  Res1 res1_;
  Down1 down1_;
  Mid mid_;
  Up1 up1_;
  Res3 res3_;
  Up0 up0_;
  Res4 res4_;
  Head head_;
};

// Step t's sinusoids into out (width even): sin(t f_j) then cos(t f_j), f_j = 10000^(-j / (width/2)).
template <class T>
void time_sinusoids(double t, std::span<T> out) {
  const std::size_t half = out.size() / 2;
  for (std::size_t j = 0; j < half; ++j) {
    const double f = std::exp(-std::log(10000.0) * double(j) / double(half));
    out[j] = T(std::sin(t * f));
    out[half + j] = T(std::cos(t * f));
  }
}

// Every image shape a diffusion model is built for: Fashion-MNIST's and CIFAR-10's at base width
// 32, and the test suites' 8x8 grey images at width 8 (a new shape is one more alternative).
using Denoisers = std::variant<UNet<1, 28, 28, 32>, UNet<3, 32, 32, 32>, UNet<1, 8, 8, 8>>;

}  // namespace vk::vae
