// JSON files parsed with a bound on their nesting. Copying, comparing and printing a JSON value
// recurse once per level, so a file nested 100,000 levels deep (a few hundred KB of brackets)
// overflowed the stack of whatever read it next: vae-report and vae-train --resume on such a
// config.json, vae-train --resume on such a training_state.json, vae-sweep on such a grid. The
// project's files nest at most 4 levels (manifest.json has its own bound, io/checkpoint_manifest.cpp).
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/error.hpp"

namespace vk {

inline constexpr int kMaxJsonDepth = 64;

// Parses in (a stream or a string) as Json; throws IoError naming `where` (a file, or a file and
// line) when it is not JSON or is nested deeper than kMaxJsonDepth.
template <class Json = nlohmann::json, class Input>
Json parse_json(Input&& in, const std::string& where) {
  try {
    return Json::parse(std::forward<Input>(in), [&](int depth, typename Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth) throw IoError(where + ": nested more than " + std::to_string(kMaxJsonDepth) + " levels deep");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw IoError(where + ": malformed JSON: " + e.what());
  }
}

}  // namespace vk
