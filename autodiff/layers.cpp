#include "autodiff/sequential.hpp"

namespace vk {

void layer_error(const std::string& layer, const std::string& name, Shape in) {
  throw std::invalid_argument(fmt::format("{} ({}): cannot take an input of shape {}", layer, name, in.text()));
}

Activation::Activation(Op f) : f_(f) {
  if (!is_unary(f) || f == Op::scale)
    throw std::invalid_argument(fmt::format("{} is not an activation", op_name(f)));
}

Op parse_activation(const std::string& name) {
  std::string names;
#define VK_MATCH(op, P)                                   \
  if (Op::op != Op::scale) {                              \
    if (name == #op) return Op::op;                       \
    names += names.empty() ? #op : ", " #op;              \
  }
  VK_OPS_UNARY(VK_MATCH)
#undef VK_MATCH
  throw std::invalid_argument(fmt::format("unknown activation '{}' (expected one of: {})", name, names));
}

Repeat<Dense> dense_stack(const std::vector<std::size_t>& widths, Op activation) {
  std::vector<Dense> blocks;
  for (std::size_t w : widths) blocks.emplace_back(Linear<>(w), Activation(activation));
  return Repeat<Dense>(std::move(blocks));
}

Perceptron perceptron(const std::vector<std::size_t>& hidden, std::size_t out, Op activation) {
  return Perceptron(dense_stack(hidden, activation), Linear<>(out));
}

}  // namespace vk
