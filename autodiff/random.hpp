// One seeded generator type for the whole project, so a seed fixes a run.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
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

// Counter-based draws: a value is a pure function of a key and a position (splitmix64's finaliser),
// so it needs no generator state and no call order. Training keys its noise by (seed, epoch,
// example index): however a batch is split over threads or ranks, each example gets its numbers.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// The key of item n under `key`; keys nest: key_of(key_of(seed, epoch), example).
inline std::uint64_t key_of(std::uint64_t key, std::uint64_t n) { return mix64(key ^ mix64(n + kGolden)); }

// 64 uniform bits at position j of a key.
inline std::uint64_t keyed_bits(std::uint64_t key, std::size_t j) { return mix64(key + (j + 1) * kGolden); }

// out[j] ~ N(0, 1), the j-th standard normal of `key` (Box-Muller over pairs of positions).
template <class T>
void keyed_normal(std::uint64_t key, std::span<T> out) {
  constexpr double two_m53 = 1.0 / 9007199254740992.0;
  for (std::size_t j = 0; j < out.size(); j += 2) {
    const double u1 = (double(keyed_bits(key, j) >> 11) + 0.5) * two_m53;  // in (0, 1): log is finite
    const double u2 = double(keyed_bits(key, j + 1) >> 11) * two_m53;
    const double r = std::sqrt(-2.0 * std::log(u1)), a = 2.0 * std::numbers::pi * u2;
    out[j] = T(r * std::cos(a));
    if (j + 1 < out.size()) out[j + 1] = T(r * std::sin(a));
  }
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
