#include <doctest/doctest.h>

#include "autodiff/ops.hpp"

using namespace vk;

TEST_CASE("backward accumulates through shared subexpressions once per use") {
  Tape<double> t;
  Matrix<double> xv = {{3.0}}, g = {{0.0}};
  Var<double> x = t.variable(xv.data(), g.data(), 1, 1);
  Var<double> y = mul(x, x);        // x^2
  Var<double> z = add(y, mul(y, x));  // x^2 + x^3
  t.backward(z);
  CHECK(g(0, 0) == doctest::Approx(2 * 3.0 + 3 * 9.0));
}

TEST_CASE("the loss must be a scalar that depends on a variable") {
  Tape<double> t;
  Matrix<double> a = {{1, 2}}, ga = {{0, 0}};
  Var<double> x = t.variable(a.data(), ga.data(), 1, 2);
  CHECK_THROWS_AS(t.backward(x), std::invalid_argument);
  CHECK_THROWS_AS(t.backward(sum(t.constant(a))), std::logic_error);
}

TEST_CASE("no-grad guard: ops compute but nothing needs a gradient") {
  Tape<double> t;
  Matrix<double> a = {{1, 2}}, ga = {{0, 0}};
  {
    NoGradGuard guard(t);
    Var<double> x = t.variable(a.data(), ga.data(), 1, 2);
    Var<double> y = sum(square(x));
    CHECK(y.item() == 5);
    CHECK_FALSE(y.requires_grad());
    CHECK_THROWS_AS(t.backward(y), std::logic_error);
  }
  CHECK(t.grad_enabled());
  Var<double> x = t.variable(a.data(), ga.data(), 1, 2);
  CHECK(sum(square(x)).requires_grad());
}

TEST_CASE("mixing tapes is an error") {
  Tape<double> t1, t2;
  Matrix<double> a = {{1}};
  CHECK_THROWS_AS(add(t1.constant(a), t2.constant(a)), std::logic_error);
}

TEST_CASE("dump names every op with its inputs and shape") {
  Tape<float> t;
  Matrix<float> a = {{1, 2}};
  Var<float> y = relu(t.constant(a));
  sum(y);
  CHECK(t.dump() == "%0 = constant() [1x2] no-grad\n%1 = relu(%0) [1x2] no-grad\n%2 = sum(%1) [1x1] no-grad\n");
}

TEST_CASE("reset reuses storage: the same recording needs no new arena block") {
  Tape<float> t;
  Matrix<float> a = Matrix<float>::from_shape({64, 300});
  a.fill(0.5f);
  auto record = [&] { sum(exp(tanh(t.constant(a)))); };
  record();
  record();  // a second recording without reset may add blocks
  t.reset();
  const std::size_t capacity = t.arena_capacity();
  for (int i = 0; i < 3; ++i) {
    record();
    record();
    t.reset();
  }
  CHECK(t.arena_capacity() == capacity);
  CHECK(t.size() == 0);
}
