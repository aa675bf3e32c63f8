// The settings of ops, one small block per op kind, stored beside the node in the tape's arena.
// Each must be trivially copyable and destructible (the arena never runs destructors), and is
// read back typed by `params<Op::name>(node)`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vk {

struct NoParams {};

// Real-valued settings are doubles whatever the tape's T, so one block type serves both.
struct ScaleParams {
  double factor = 1;
  constexpr ScaleParams(double f = 1) : factor(f) {}  // NOLINT: scale(x, 2.0) reads best
};
struct LeakyReluParams {
  double slope = 0.01;  // for x < 0
  constexpr LeakyReluParams(double s = 0.01) : slope(s) {}  // NOLINT
};
struct EluParams {
  double alpha = 1;  // x < 0: alpha (e^x - 1)
  constexpr EluParams(double a = 1) : alpha(a) {}  // NOLINT
};

// Which axis a reduction runs over: rows gives [1,n], columns [m,1], all [1,1].
enum class Axis : std::int8_t { all = -1, rows = 0, columns = 1 };

struct SumParams {
  Axis axis = Axis::all;
  double factor = 1;  // 1 for a sum, 1/n for a mean
};
struct LogsumexpParams {
  Axis axis = Axis::columns;
};
struct SliceParams {
  std::uint32_t begin = 0;  // first column taken
};
// The column order of permute_cols: output column j is input column order[j]. The array
// belongs to the caller (a flow's fixed permutation) and must outlive the tape's backward pass.
struct PermuteParams {
  const std::uint32_t* order = nullptr;
};
struct TileParams {
  std::uint32_t times = 1;  // copies of the whole matrix, one under the other
};

// Group normalization (Wu & He 2018) of channels-last images [batch, pixels * channels]: each
// image's channels split into `groups` groups of channels / groups, each normalized over its
// pixels and channels together, then scaled and shifted per channel.
struct GroupNormParams {
  std::uint32_t channels = 0, groups = 1;
  double epsilon = 1e-5;
};

// The discretized logistic of 8-bit pixels (logistic_loglik, logistic_mean): each pixel a mixture
// of `components` logistics, its parameters side by side as the channels of that pixel: the
// locations, then the log-scales, then (a mixture only) the logits of the mixture weights.
struct LogisticParams {
  std::uint32_t components = 1;
  constexpr std::size_t per_pixel() const { return components == 1 ? 2 : 3 * std::size_t(components); }
};

// A 2-D convolution between a large image [H, W, C] and a small one [OH, OW, OC], both stored
// channels last as rows of a batch. conv2d maps large to small; conv_transpose2d (its adjoint in
// the input) maps small to large. OH = (H + 2 padding - kernel) / stride + 1, likewise OW.
struct ConvParams {
  std::uint32_t height = 0, width = 0, channels = 0;              // the large image
  std::uint32_t out_height = 0, out_width = 0, out_channels = 0;  // the small image
  std::uint32_t kernel = 0, stride = 1, padding = 0;

  std::size_t large_size() const { return std::size_t(height) * width * channels; }
  std::size_t small_size() const { return std::size_t(out_height) * out_width * out_channels; }
  std::size_t patch() const { return std::size_t(kernel) * kernel * channels; }  // one im2col row
  std::size_t positions() const { return std::size_t(out_height) * out_width; }
};

// conv2d of a [height, width, channels] image into out_channels with a square kernel. The output
// size is 0 where the kernel does not fit (a layer reports that as a shape error).
constexpr ConvParams conv_geometry(std::uint32_t height, std::uint32_t width, std::uint32_t channels,
                                   std::uint32_t out_channels, std::uint32_t kernel,
                                   std::uint32_t stride, std::uint32_t padding) {
  auto out = [&](std::uint32_t n) {
    return stride == 0 || n + 2 * padding < kernel ? 0u : (n + 2 * padding - kernel) / stride + 1;
  };
  return {height, width, channels, out(height), out(width), out_channels, kernel, stride, padding};
}

// conv_transpose2d of a [height, width, channels] image into out_channels: the adjoint of the
// conv2d whose output has that shape, so the large image is (n - 1) stride - 2 padding + kernel.
constexpr ConvParams conv_transpose_geometry(std::uint32_t height, std::uint32_t width,
                                             std::uint32_t channels, std::uint32_t out_channels,
                                             std::uint32_t kernel, std::uint32_t stride,
                                             std::uint32_t padding) {
  auto out = [&](std::uint32_t n) {
    return n == 0 || (n - 1) * stride + kernel < 2 * padding ? 0u : (n - 1) * stride + kernel - 2 * padding;
  };
  return {out(height), out(width), out_channels, height, width, channels, kernel, stride, padding};
}

}  // namespace vk
