// A small MLP learns a smooth non-linear function: the ops, layers and optimizer work together.
#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/layers.hpp"
#include "autodiff/optim.hpp"

using namespace vk;

namespace {

struct Task {
  Matrix<float> x, y;
};

Task make_task(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Task t{Matrix<float>::from_shape({n, 2}), Matrix<float>::from_shape({n, 1})};
  fill_uniform<float>(rng, std::span(t.x.data(), t.x.size()), -1.f, 1.f);
  for (std::size_t i = 0; i < n; ++i) t.y(i, 0) = std::sin(3 * t.x(i, 0)) * std::cos(2 * t.x(i, 1));
  return t;
}

template <class Optimizer>
float fit(Perceptron& net, ParameterStore<float>& store, Optimizer& opt, const Task& train, const Task& test,
          int steps) {
  Tape<float> tape;
  for (int s = 0; s < steps; ++s) {
    Var<float> err = sub(net.forward(store, tape.constant(train.x)), tape.constant(train.y));
    Var<float> loss = mean(square(err));
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
    tape.reset();
  }
  NoGradGuard guard(tape);
  Var<float> err = sub(net.forward(store, tape.constant(test.x)), tape.constant(test.y));
  return mean(square(err)).item();
}

}  // namespace

TEST_CASE("an MLP fits sin(3 x0) cos(2 x1) far better than its variance") {
  const Task train = make_task(512, 1), test = make_task(256, 2);
  float variance = 0;
  for (float v : test.y) variance += v * v / float(test.y.size());

  ParameterStore<float> store;
  Rng rng(3);
  Perceptron net = perceptron({32, 32}, 1, Op::tanh);
  build_network(net, store, "net", rng, features(2));
  Adam<float> adam(store, {.lr = 1e-2f});
  const float adam_mse = fit(net, store, adam, train, test, 600);
  MESSAGE("test MSE with Adam: " << adam_mse << " (variance " << variance << ")");
  CHECK(adam_mse < 0.02f * variance);

  ParameterStore<float> store2;
  Rng rng2(3);
  Perceptron net2 = perceptron({32, 32}, 1, Op::relu);
  build_network(net2, store2, "net", rng2, features(2));
  Sgd<float> sgd(store2, {.lr = 0.05f, .momentum = 0.9f});
  const float sgd_mse = fit(net2, store2, sgd, train, test, 600);
  MESSAGE("test MSE with SGD+momentum: " << sgd_mse);
  CHECK(sgd_mse < 0.02f * variance);
}
