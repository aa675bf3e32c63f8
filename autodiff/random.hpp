// One seeded generator type for the whole project, so a seed fixes a run.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>

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

// The full state of a generator or distribution as text (the standard's << and >>), so a
// checkpoint can continue a run with the very numbers it would have drawn.
template <class G>
std::string state_text(const G& g) {
  std::ostringstream out;
  out << g;
  return out.str();
}

template <class G>
void restore_state(G& g, const std::string& text) {
  std::istringstream in(text);
  in >> g;
  if (in.fail()) throw std::invalid_argument("not the state of this generator or distribution");
}

}  // namespace vk
