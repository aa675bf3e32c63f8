#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/layers.hpp"

using namespace vk;

// A mismatched composition does not compile: Sequential static_asserts on this trait.
static_assert(composes<Linear<784, 400>, Relu, Linear<400, 20>>());
static_assert(!composes<Linear<784, 400>, Relu, Linear<300, 20>>());
static_assert(composes<Linear<>, Tanh, Linear<400, 20>>());  // run-time widths are checked later

TEST_CASE("Sequential registers PyTorch-style names and computes a forward pass") {
  ParameterStore<double> store;
  Rng rng(7);
  Sequential<Linear<4, 3>, Relu, Linear<3, 2>> net;
  net.build(store, "encoder", rng);
  REQUIRE(store.count() == 4);
  CHECK(store.entries()[0].name == "encoder.0.weight");
  CHECK(store.entries()[1].name == "encoder.0.bias");
  CHECK(store.entries()[2].name == "encoder.2.weight");
  CHECK(store.entry(*store.find("encoder.2.weight")).rows == 3);

  Tape<double> t;
  Matrix<double> x = {{1, -1, 0.5, 2}, {0, 0, 0, 0}};
  Var<double> y = net.forward(store, t.constant(x));
  CHECK(y.rows() == 2);
  CHECK(y.cols() == 2);
  // Same computation by hand from the stored weights.
  auto w0 = store.value(*store.find("encoder.0.weight"));
  auto b0 = store.value(*store.find("encoder.0.bias"));
  auto w2 = store.value(*store.find("encoder.2.weight"));
  auto b2 = store.value(*store.find("encoder.2.bias"));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 2; ++k) {
      double out = b2(0, k);
      for (std::size_t j = 0; j < 3; ++j) {
        double h = b0(0, j);
        for (std::size_t q = 0; q < 4; ++q) h += x(i, q) * w0(q, j);
        out += std::max(h, 0.0) * w2(j, k);
      }
      CHECK(y.value()(i, k) == doctest::Approx(out));
    }
}

TEST_CASE("initialisation: He before a rectifier, Xavier otherwise, within bounds") {
  ParameterStore<double> store;
  Rng rng(3);
  Sequential<Linear<200, 100>, Relu, Linear<100, 50>> net;
  net.build(store, "net", rng);
  auto max_abs = [&](const char* name) {
    double m = 0;
    for (double v : store.value(*store.find(name))) m = std::max(m, std::abs(v));
    return m;
  };
  const double he = std::sqrt(6.0 / 200), xavier = std::sqrt(6.0 / 150);
  CHECK(max_abs("net.0.weight") <= he);
  CHECK(max_abs("net.0.weight") > 0.9 * he);  // the uniform range is used, not a narrower one
  CHECK(max_abs("net.2.weight") <= xavier);
  CHECK(max_abs("net.2.weight") > 0.9 * xavier);
  CHECK(max_abs("net.0.bias") == 0);
}

TEST_CASE("Mlp from run-time widths") {
  ParameterStore<float> store;
  Rng rng(1);
  Mlp mlp({10, 8, 6, 3}, Activation::tanh);
  mlp.build(store, "decoder", rng);
  CHECK(store.count() == 6);
  CHECK(store.entries()[4].name == "decoder.4.weight");
  CHECK(store.size() == 10 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3);
  Tape<float> t;
  Matrix<float> x = Matrix<float>::from_shape({5, 10});
  x.fill(0.1f);
  Var<float> y = mlp.forward(store, t.constant(x));
  CHECK(y.rows() == 5);
  CHECK(y.cols() == 3);
  Matrix<float> wrong = Matrix<float>::from_shape({5, 9});
  CHECK_THROWS_AS(mlp.forward(store, t.constant(wrong)), std::invalid_argument);
  CHECK_THROWS_AS(Mlp({10}, Activation::relu), std::invalid_argument);
  CHECK(parse_activation("elu") == Activation::elu);
  CHECK_THROWS_AS(parse_activation("gelu"), std::invalid_argument);
}

TEST_CASE("the parameter visitor sees every parameter once, in order, with its own storage") {
  ParameterStore<float> store;
  store.add("a", 2, 3);
  store.add("b", 1, 4);
  std::vector<std::string> names;
  std::size_t total = 0;
  store.for_each([&](const auto& entry, MatrixView<float> value, MatrixView<float> grad) {
    names.push_back(entry.name);
    CHECK(value.shape(0) == entry.rows);
    CHECK(value.shape(1) == entry.cols);
    CHECK(value.data() == store.values().data() + entry.offset);
    CHECK(grad.data() == store.grads().data() + entry.offset);
    total += value.size();
  });
  CHECK(names == std::vector<std::string>{"a", "b"});
  CHECK(total == store.size());
}

TEST_CASE("parameter names are unique") {
  ParameterStore<float> store;
  store.add("a", 1, 1);
  CHECK_THROWS_AS(store.add("a", 2, 2), std::invalid_argument);
}
