// Counts, sizes and seeds read from JSON files. nlohmann's get<T>() for an integer T casts a float
// out of T's range (undefined behaviour: a fuzzed config.json with "keep_checkpoints": 4e25 found
// it) and wraps a negative number into an unsigned type, so the readers of the run folder's files
// take their whole numbers through these instead. A whole float (5.0, as a hand edit may write) is
// taken; anything else is refused naming the key.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vk {

// j as a T; throws std::invalid_argument naming key when it is not a whole number T holds.
template <class T>
T whole_number(const nlohmann::json& j, const std::string& key) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using limits = std::numeric_limits<T>;
  const auto max = static_cast<std::uint64_t>(limits::max());
  if (j.is_number_unsigned()) {
    if (j.get<std::uint64_t>() <= max) return static_cast<T>(j.get<std::uint64_t>());
  } else if (j.is_number_integer()) {
    const std::int64_t v = j.get<std::int64_t>();
    if (v >= static_cast<std::int64_t>(limits::min()) && (v < 0 || static_cast<std::uint64_t>(v) <= max)) return static_cast<T>(v);
  } else if (j.is_number_float()) {
    // [-2^digits, 2^digits) is T's range exactly in double, so the comparisons round nothing.
    const double d = j.get<double>(), bound = std::ldexp(1.0, limits::digits);
    if (d == std::trunc(d) && d < bound && (limits::is_signed ? d >= -bound : d >= 0)) return static_cast<T>(d);
  } else {
    throw std::invalid_argument(fmt::format("\"{}\" is {}, not a whole number", key, j.type_name()));
  }
  throw std::invalid_argument(
      fmt::format("\"{}\" is {}, not a whole number from {} to {}", key, j.dump(), limits::min(), limits::max()));
}

// object[key] as a T, or fallback when object has no key (a file of an older build).
template <class T>
T whole_number_or(const nlohmann::json& object, const std::string& key, T fallback) {
  return object.contains(key) ? whole_number<T>(object.at(key), key) : fallback;
}

// j, an array of whole numbers, as std::vector<T>.
template <class T>
std::vector<T> whole_numbers(const nlohmann::json& j, const std::string& key) {
  if (!j.is_array()) throw std::invalid_argument(fmt::format("\"{}\" is {}, not an array of whole numbers", key, j.type_name()));
  std::vector<T> out;
  for (const nlohmann::json& e : j) out.push_back(whole_number<T>(e, key));
  return out;
}

}  // namespace vk
