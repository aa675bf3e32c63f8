// The GEMM shapes of a training step, as vae-bench's gemms_of lists them for the 784-400-20 MLP VAE
// and the conv VAE at batch 128 (forward and backward products): row-major, with the transpose
// flags passed to BLAS. gemm-bench and gemm-libs both time them.
#pragma once

#include <cstddef>

namespace vk::bench {

struct GemmShape {
  const char* what;
  bool ta, tb;
  std::size_t m, n, k;
};

inline constexpr GemmShape kStepShapes[] = {
    {"mlp enc fwd", false, false, 128, 400, 784},   {"mlp enc wgrad", true, false, 784, 400, 128},
    {"mlp dec fwd", false, false, 128, 784, 400},   {"mlp dec dgrad", false, true, 128, 400, 784},
    {"mlp dec wgrad", true, false, 400, 784, 128},  {"conv1 fwd", false, false, 25088, 32, 16},
    {"conv1 wgrad", true, false, 16, 32, 25088},    {"conv2 fwd", false, false, 6272, 64, 512},
    {"conv2 wgrad", true, false, 512, 64, 6272},    {"conv2 dgrad", false, true, 6272, 512, 64},
    {"fc 3136 fwd", false, false, 128, 256, 3136},  {"fc 3136 wgrad", true, false, 3136, 256, 128},
    {"fc 3136 dgrad", false, true, 128, 3136, 256}, {"convT1 fwd", false, false, 6272, 512, 64},
    {"convT1 dgrad", false, true, 6272, 64, 512},   {"convT1 wgrad", true, false, 64, 512, 6272},
    {"convT2 fwd", false, false, 25088, 16, 32},    {"convT2 wgrad", true, false, 32, 16, 25088},
};

}  // namespace vk::bench
