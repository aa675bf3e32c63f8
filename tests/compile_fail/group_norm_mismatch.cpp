// Must not compile: a residual branch whose group norm expects 64 channels after a 32-channel
// level of the U-Net (GroupNorm takes part in Sequential's check like every layer).
// expect: LayerFits<vk::Input<32, 14, 14>, vk::GroupNorm<64, 8>, vk::Shape{14, 14, 32}>
#include "autodiff/sequential.hpp"

vk::Sequential<vk::Input<32, 14, 14>, vk::GroupNorm<64, 8>, vk::Swish, vk::Conv2d<64, 64, 3, 1, 1>> branch;

int main() { return 0; }
