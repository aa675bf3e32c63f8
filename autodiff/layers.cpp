#include "autodiff/layers.hpp"

namespace vk {

namespace {
constexpr std::pair<Activation, const char*> kNames[] = {
    {Activation::none, "none"},       {Activation::relu, "relu"},
    {Activation::leaky_relu, "leaky_relu"}, {Activation::elu, "elu"},
    {Activation::tanh, "tanh"},       {Activation::sigmoid, "sigmoid"},
    {Activation::softplus, "softplus"},
};
}  // namespace

Activation parse_activation(const std::string& name) {
  for (const auto& [a, n] : kNames)
    if (name == n) return a;
  throw std::invalid_argument(fmt::format(
      "unknown activation '{}' (expected relu, leaky_relu, elu, tanh, sigmoid, softplus or none)", name));
}

const char* activation_name(Activation a) {
  for (const auto& [b, n] : kNames)
    if (a == b) return n;
  return "?";
}

Mlp::Mlp(std::vector<std::size_t> widths, Activation hidden, Activation output)
    : widths_(std::move(widths)), hidden_(hidden), output_(output) {
  if (widths_.size() < 2) throw std::invalid_argument("Mlp: needs at least an input and an output width");
  for (std::size_t i = 0; i + 1 < widths_.size(); ++i) layers_.emplace_back(widths_[i], widths_[i + 1]);
}

}  // namespace vk
