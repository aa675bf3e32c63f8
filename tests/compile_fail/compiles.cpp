// The control: the same composition with fitting shapes compiles with the same command.
#include "autodiff/sequential.hpp"

vk::Sequential<vk::Input<1, 28, 28>, vk::Conv2d<1, 32, 4, 2, 1>, vk::Relu, vk::Conv2d<32, 64, 4, 2, 1>,
               vk::Relu, vk::Linear<3136, 256>>
    net;

int main() { return 0; }
