// The statistics lecture-claims decides its verdicts with, against cases whose answers are known.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "experiments/claims/stats.hpp"

namespace cl = vk::claims;

TEST_CASE("KS distance: a normal sample passes, a shifted or scaled one does not") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::vector<double> x(20000);
  for (double& v : x) v = normal(rng);
  CHECK(cl::ks_normal(x) < cl::ks_critical(x.size()));
  std::vector<double> shifted = x, scaled = x;
  for (double& v : shifted) v += 0.1;
  for (double& v : scaled) v *= 1.2;
  CHECK(cl::ks_normal(shifted) > cl::ks_critical(x.size()));
  CHECK(cl::ks_normal(scaled) > cl::ks_critical(x.size()));
  // Lilliefors: a scaled normal is still a normal once fitted; a uniform is not.
  CHECK(cl::ks_fitted_normal(scaled) < cl::lilliefors_critical(x.size()));
  std::uniform_real_distribution<double> uniform;
  for (double& v : x) v = uniform(rng);
  CHECK(cl::ks_fitted_normal(x) > cl::lilliefors_critical(x.size()));
  // One point: the distance is max(Phi(0), 1 - Phi(0)) = 0.5.
  CHECK(cl::ks_normal({0.0}) == doctest::Approx(0.5));
}

TEST_CASE("spread: mean and sample standard deviation over seeds") {
  const cl::Spread s = cl::spread({1, 2, 3, 4});
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.sd == doctest::Approx(std::sqrt(5.0 / 3.0)));
  CHECK(cl::spread({7}).sd == 0);
  CHECK(cl::median_of({3, 1, 2, 10}) == doctest::Approx(2.5));
}
