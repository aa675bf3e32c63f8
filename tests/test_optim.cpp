#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/optim.hpp"
#include "autodiff/parallel.hpp"

using namespace vk;

namespace {
// f(p) = p0^2 + p1^2 + p1^3 / 6, so both coordinates see changing, different gradients.
void gradient(ParameterStore<double>& s) {
  auto p = s.values();
  auto g = s.grads();
  g[0] = 2 * p[0];
  g[1] = 2 * p[1] + 0.5 * p[1] * p[1];
}
}  // namespace

TEST_CASE("Adam matches the update worked out by hand") {
  ParameterStore<double> s;
  s.add("p", 1, 2);
  s.values()[0] = 1.0;
  s.values()[1] = -2.0;
  Adam<double> adam(s, {.lr = 0.1});
  // Worked by hand from m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
  // p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
  const double expected[3][2] = {{0.9000000005, -1.9000000005},
                                 {0.8004122286917928, -1.8000066038919846},
                                 {0.7015862729460303, -1.7000426882240698}};
  for (int t = 0; t < 3; ++t) {
    gradient(s);
    adam.step();
    CHECK(s.values()[0] == doctest::Approx(expected[t][0]).epsilon(1e-6));
    CHECK(s.values()[1] == doctest::Approx(expected[t][1]).epsilon(1e-6));
  }
  CHECK(adam.steps() == 3);
}

TEST_CASE("AdamW decays weights; Adam adds the decay to the gradient") {
  ParameterStore<double> a, b;
  a.add("p", 1, 1);
  b.add("p", 1, 1);
  a.values()[0] = b.values()[0] = 2.0;
  a.grads()[0] = b.grads()[0] = 0.0;  // only the decay acts
  Adam<double> adamw(a, {.lr = 0.1, .weight_decay = 0.5, .decoupled = true});
  Adam<double> adam(b, {.lr = 0.1, .weight_decay = 0.5});
  adamw.step();
  adam.step();
  CHECK(a.values()[0] == doctest::Approx(2.0 * (1 - 0.1 * 0.5)));
  CHECK(b.values()[0] == doctest::Approx(2.0 - 0.1));  // first Adam step moves by lr
}

TEST_CASE("SGD with momentum follows PyTorch's rule") {
  ParameterStore<double> s;
  s.add("p", 1, 1);
  s.values()[0] = 1.0;
  Sgd<double> sgd(s, {.lr = 0.1, .momentum = 0.9});
  s.grads()[0] = 1.0;
  sgd.step();  // b = 1, p = 0.9
  CHECK(s.values()[0] == doctest::Approx(0.9));
  sgd.step();  // b = 0.9 + 1 = 1.9, p = 0.71
  CHECK(s.values()[0] == doctest::Approx(0.71));
}

TEST_CASE("clipping by global norm") {
  ParameterStore<double> s;
  s.add("a", 1, 2);
  s.add("b", 1, 1);
  s.grads()[0] = 3;
  s.grads()[1] = 0;
  s.grads()[2] = 4;
  CHECK(clip_grad_norm(s, 1.0) == doctest::Approx(5.0));
  CHECK(grad_norm(s) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(s.grads()[0] / s.grads()[2] == doctest::Approx(0.75));
  CHECK(clip_grad_norm(s, 10.0) == doctest::Approx(1.0).epsilon(1e-5));  // under the limit: unchanged
  CHECK(grad_norm(s) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("parallel::for_range covers every index once, and Adam on two threads matches one") {
  for (std::size_t n : {std::size_t(0), std::size_t(10), std::size_t(100003)}) {
    std::vector<int> hits(n, 0);
    blas::set_threads(2);
    auto count = [&](std::size_t b, std::size_t e) { for (std::size_t i = b; i < e; ++i) ++hits[i]; };
    parallel::for_range(n, count);
    blas::set_threads(1);
    CHECK(std::count(hits.begin(), hits.end(), 1) == std::ptrdiff_t(n));
  }
  // Large enough to be split; the same arithmetic per element, so bit-identical results.
  auto run = [](int threads) {
    ParameterStore<float> s;
    s.add("w", 300, 400);
    for (std::size_t i = 0; i < s.size(); ++i) s.values()[i] = std::sin(float(i));
    blas::set_threads(threads);
    Adam<float> adam(s, {.lr = 0.01f});
    for (int step = 0; step < 3; ++step) {
      adam.zero_grad();
      for (std::size_t i = 0; i < s.size(); ++i) s.grads()[i] = std::cos(float(i) * float(step + 1));
      adam.step();
    }
    blas::set_threads(1);
    return std::vector<float>(s.values().begin(), s.values().end());
  };
  CHECK(run(1) == run(2));
}
