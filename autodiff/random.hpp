// One seeded generator type for the whole project, so a seed fixes a run.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace vk {

using Rng = std::mt19937_64;

template <class T>
void fill_normal(Rng& rng, std::span<T> out, T mean = T(0), T stddev = T(1)) {
  std::normal_distribution<T> dist(mean, stddev);
  for (T& x : out) x = dist(rng);
}

template <class T>
void fill_uniform(Rng& rng, std::span<T> out, T low, T high) {
  std::uniform_real_distribution<T> dist(low, high);
  for (T& x : out) x = dist(rng);
}

}  // namespace vk
