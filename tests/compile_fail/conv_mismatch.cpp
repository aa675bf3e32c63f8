// Must not compile: two stride-2 convolutions turn 28x28x1 into 7x7x64 = 3136 features, not 3200.
// expect: LayerFits<vk::Conv2d<32, 64, 4, 2, 1>, vk::Linear<3200, 256>, vk::Shape{7, 7, 64}>
#include "autodiff/sequential.hpp"

vk::Sequential<vk::Input<1, 28, 28>, vk::Conv2d<1, 32, 4, 2, 1>, vk::Relu, vk::Conv2d<32, 64, 4, 2, 1>,
               vk::Relu, vk::Linear<3200, 256>>
    net;

int main() { return 0; }
