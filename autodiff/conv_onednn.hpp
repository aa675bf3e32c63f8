// conv2d and conv_transpose2d in single precision through oneDNN's convolution and
// deconvolution primitives (bench/conv_bench.cpp measures them against im2col + GEMM).
// Images are our channels-last rows ([batch, H*W*C] is oneDNN's nhwc), weights our [in, out]
// layout, reordered into the primitive's own format in buffers kept with it. Primitives are
// created once per geometry and batch size and kept for the process, each with its own user
// scratchpad. Yet every execution of a primitive allocates: oneDNN 2.6's dnnl_primitive_execute
// copies its arguments into an std::unordered_map (docs/performance.md, "Convolutions through
// oneDNN"). A batch is split over vaekit's pool as blas::gemm splits products, one OpenMP thread
// per part.
#pragma once

#include <cstddef>
#include <string>

#include "autodiff/op_params.hpp"

namespace vk::onednn {

// transposed: conv_transpose2d, whose input is g's small image and output its large one;
// otherwise conv2d, large to small. w and b as the op's weight and bias.

// y = conv(x) + b, y overwritten.
void conv_forward(bool transposed, const ConvParams& g, std::size_t batch, const float* x, const float* w,
                  const float* b, float* y);
// dx += the input's gradient for the output's gradient dy; scratch holds as many floats as dx.
void conv_backward_data(bool transposed, const ConvParams& g, std::size_t batch, const float* dy, const float* w,
                        float* dx, float* scratch);
// dw += the weight's gradient, db += the bias's (either may be null, not both).
void conv_backward_weights(bool transposed, const ConvParams& g, std::size_t batch, const float* x,
                           const float* dy, float* dw, float* db);

// The implementations oneDNN picked for the three passes ("jit:avx512_core, ..."), creating them.
std::string implementations(bool transposed, const ConvParams& g, std::size_t batch);

}  // namespace vk::onednn
