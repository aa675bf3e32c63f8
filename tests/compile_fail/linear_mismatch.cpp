// Must not compile: Linear<400, 20> cannot take the 300 features of Linear<784, 300>.
// expect: LayerFits<vk::Linear<784, 300>, vk::Linear<400, 20>, vk::Shape{1, 1, 300}>
#include "autodiff/sequential.hpp"

vk::Sequential<vk::Linear<784, 300>, vk::Relu, vk::Linear<400, 20>> net;

int main() { return 0; }
