#include <doctest/doctest.h>

#include <cmath>

#include "autodiff/sequential.hpp"

using namespace vk;

// Shapes the compiler knows: a 28x28x1 image through two stride-2 convolutions is 7x7x64, and
// back through two transposed ones 28x28x1. A mismatch fails to compile (tests/compile_fail).
static_assert(Conv2d<1, 32, 4, 2, 1>::output_shape(image(1, 28, 28)) == image(32, 14, 14));
static_assert(Sequential<Input<1, 28, 28>, Conv2d<1, 32, 4, 2, 1>, Relu, Conv2d<32, 64, 4, 2, 1>>::static_output ==
              image(64, 7, 7));
static_assert(Sequential<Reshape<64, 7, 7>, ConvTranspose2d<64, 32, 4, 2, 1>, ConvTranspose2d<32, 1, 4, 2, 1>>::static_output ==
              image(1, 28, 28));
static_assert(Linear<784, 400>::accepts(image(1, 28, 28)));  // an image is a row: Linear flattens it
static_assert(!Linear<784, 400>::accepts(features(300)));
static_assert(Linear<>::accepts(features(300)));  // a run-time width is checked at build
static_assert(Sequential<Linear<>, Tanh, Linear<400, 20>>::static_output == features(20));
static_assert(!Conv2d<3, 8, 3>::accepts(image(1, 28, 28)));
static_assert(!Conv2d<1, 8, 5>::accepts(image(1, 3, 3)));  // the kernel does not fit

TEST_CASE("Sequential registers PyTorch-style names and computes a forward pass") {
  ParameterStore<double> store;
  Rng rng(7);
  Sequential<Linear<4, 3>, Relu, Linear<3, 2>> net;
  CHECK(build_network(net, store, "encoder", rng, features(4)) == features(2));
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
  build_network(net, store, "net", rng, features(200));
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

TEST_CASE("an MLP of run-time widths and activation") {
  ParameterStore<float> store;
  Rng rng(1);
  Perceptron mlp = perceptron({8, 6}, 3, parse_activation("tanh"));
  CHECK(build_network(mlp, store, "decoder", rng, features(10)) == features(3));
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
  ParameterStore<float> other;
  CHECK_THROWS_AS(build_network(mlp, other, "again", rng, unknown_shape), std::invalid_argument);
  CHECK(parse_activation("elu") == Op::elu);
  CHECK(parse_activation("swish") == Op::swish);  // every element-wise op of the list is an activation
  CHECK_THROWS_AS(parse_activation("gelu"), std::invalid_argument);
  CHECK_THROWS_AS(parse_activation("scale"), std::invalid_argument);
  CHECK_THROWS_AS(Activation(Op::matmul), std::invalid_argument);
}

TEST_CASE("convolution layers: parameters, shapes at run time, and a wrong input named") {
  ParameterStore<double> store;
  Rng rng(4);
  Sequential<Input<1, 28, 28>, Conv2d<1, 32, 4, 2, 1>, Relu, Linear<32 * 14 * 14, 10>> enc;
  CHECK(build_network(enc, store, "enc", rng, features(784)) == features(10));
  CHECK(store.entries()[0].name == "enc.0.weight");
  CHECK(store.entry(*store.find("enc.0.weight")).rows == 16);
  CHECK(store.entry(*store.find("enc.0.weight")).cols == 32);
  CHECK(store.entries()[2].name == "enc.2.weight");
  Sequential<Linear<10, 64 * 7 * 7>, Reshape<64, 7, 7>, ConvTranspose2d<64, 1, 4, 2, 1>> dec;
  CHECK(build_network(dec, store, "dec", rng, features(10)) == image(1, 14, 14));
  CHECK(store.entry(*store.find("dec.2.weight")).rows == 64);
  CHECK(store.entry(*store.find("dec.2.weight")).cols == 16);
  Tape<double> t;
  Matrix<double> x = Matrix<double>::from_shape({3, 784});
  x.fill(0.5);
  Var<double> y = dec.forward(store, enc.forward(store, t.constant(x)));
  CHECK(y.rows() == 3);
  CHECK(y.cols() == 196);
  ParameterStore<double> other;
  Sequential<Input<1, 28, 28>, Conv2d<1, 32, 4, 2, 1>> wrong;
  try {
    build_network(wrong, other, "enc", rng, features(100));
    FAIL("an input of the wrong size was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("Input of 28x28x1") != std::string::npos);
  }
}

TEST_CASE("a convolution's output channels set at run time: shapes, parameters, and a static one's start") {
  using Dynamic = ConvTranspose2d<64, dynamic, 4, 2, 1>;
  static_assert(Dynamic::output_shape(image(64, 7, 7)) == image(dynamic, 14, 14));
  static_assert(Sequential<Reshape<64, 7, 7>, Dynamic>::static_output == image(dynamic, 14, 14));
  Rng rng(4);
  ParameterStore<double> store;
  Sequential<Linear<10, 64 * 7 * 7>, Reshape<64, 7, 7>, Dynamic> dec({}, {}, Dynamic(3));
  CHECK(build_network(dec, store, "dec", rng, features(10)) == image(3, 14, 14));
  CHECK(store.entry(*store.find("dec.2.weight")).rows == 64);
  CHECK(store.entry(*store.find("dec.2.weight")).cols == 16 * 3);
  CHECK(store.entry(*store.find("dec.2.bias")).cols == 3);
  Tape<double> t;
  Matrix<double> z = Matrix<double>::from_shape({2, 10});
  z.fill(0.25);
  CHECK(dec.forward(store, t.constant(z)).cols() == 14 * 14 * 3);
  // One channel set at run time starts, and computes, as the static layer does with the same seed.
  ParameterStore<double> a, b;
  Rng ra(9), rb(9);
  Sequential<Reshape<64, 7, 7>, ConvTranspose2d<64, 1, 4, 2, 1>> fixed;
  Sequential<Reshape<64, 7, 7>, Dynamic> chosen({}, Dynamic(1));
  build_network(fixed, a, "dec", ra, features(64 * 49));
  build_network(chosen, b, "dec", rb, features(64 * 49));
  CHECK(std::vector<double>(a.values().begin(), a.values().end()) == std::vector<double>(b.values().begin(), b.values().end()));
  // No channels given, or a count a static layer does not have: named.
  ParameterStore<double> none;
  Sequential<Reshape<64, 7, 7>, Dynamic> unset;
  CHECK_THROWS_WITH_AS(build_network(unset, none, "dec", rng, features(64 * 49)),
                       doctest::Contains("ConvTranspose2d<64, dynamic, 4, 2, 1> with 0 output channels"), std::invalid_argument);
  CHECK_THROWS_WITH_AS((ConvTranspose2d<64, 1, 4, 2, 1>(2)), "ConvTranspose2d<64, 1, 4, 2, 1>: cannot have 2 output channels",
                       std::invalid_argument);
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
