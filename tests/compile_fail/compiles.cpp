// The control: the same composition with fitting shapes compiles with the same command.
#include "autodiff/sequential.hpp"
#include "vae/denoisers.hpp"

vk::Sequential<vk::Input<1, 28, 28>, vk::Conv2d<1, 32, 4, 2, 1>, vk::Relu, vk::Conv2d<32, 64, 4, 2, 1>,
               vk::Relu, vk::Linear<3136, 256>>
    net;
// The diffusion model's U-Net, every level's static_assert with it.
vk::vae::UNet<1, 28, 28, 32> unet;

int main() { return 0; }
