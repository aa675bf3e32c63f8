// The sharpness of images as the variance of their Laplacian: high for sharp edges, low for blur
// (lecture-claims' claim 8, and vae-eval --fid's ratio of samples to real images).
#pragma once

#include <cstddef>

namespace vk::measure {

// Variance over the interior pixels (every channel's, pooled) of the 4-neighbour Laplacian of an
// h x w image with its channels side by side (channels last), values in [0, 1].
double laplacian_variance(const float* image, std::size_t h, std::size_t w, std::size_t channels = 1);

// The mean of laplacian_variance over n such images stored one after another.
double mean_laplacian_variance(const float* images, std::size_t n, std::size_t h, std::size_t w,
                               std::size_t channels = 1);

}  // namespace vk::measure
