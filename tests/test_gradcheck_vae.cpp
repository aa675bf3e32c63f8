// End-to-end gradient check of a VAE-shaped graph: encoder trunk with two heads, the
// reparameterization with a fixed eps, decoder, Gaussian NLL with a learned log sigma^2, KL.
#include <doctest/doctest.h>

#include "tests/gradcheck.hpp"

using namespace vk;
using vk::test::GradInput;
using vk::test::random_matrix;

TEST_CASE("a small VAE: every parameter's gradient matches central differences") {
  Rng rng(11);
  const std::size_t n = 5, d = 6, h = 4, k = 2;
  auto param = [&](std::size_t r, std::size_t c) { return vk::test::GradInput{random_matrix(rng, r, c, -0.8, 0.8), true}; };
  std::vector<GradInput> in = {
      {random_matrix(rng, n, d, 0, 1), false},  // 0 x
      {random_matrix(rng, n, k, -2, 2), false}, // 1 eps
      param(d, h), param(1, h),                 // 2, 3 trunk
      param(h, k), param(1, k),                 // 4, 5 mu head
      param(h, k), param(1, k),                 // 6, 7 logvar head
      param(k, h), param(1, h),                 // 8, 9 decoder hidden
      param(h, d), param(1, d),                 // 10, 11 decoder out
      param(1, 1),                              // 12 log sigma^2
  };
  auto vae = [](Tape<double>&, const std::vector<Var<double>>& v) {
    Var<double> trunk = tanh(linear(v[0], v[2], v[3]));
    Var<double> mu = linear(trunk, v[4], v[5]);
    Var<double> logvar = linear(trunk, v[6], v[7]);
    Var<double> z = reparameterize(mu, logvar, v[1]);
    Var<double> x_hat = sigmoid(linear(tanh(linear(z, v[8], v[9])), v[10], v[11]));
    return mean(sub(gaussian_kl(mu, logvar), gaussian_loglik(x_hat, v[0], v[12])));
  };
  auto report = vk::test::gradcheck(in, vae);
  INFO(report.worst);
  CHECK(report.checked == (6 * 4 + 4) + 2 * (4 * 2 + 2) + (2 * 4 + 4) + (4 * 6 + 6) + 1);
  CHECK(report.max_error <= 1e-6);
}
